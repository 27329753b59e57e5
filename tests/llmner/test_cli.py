"""The one command line: every stage is a subcommand of `llmner`, every shared idea is spelled the way
core/options.py declares it, no command takes a retired spelling, and every command ends a broken input the same way.

tests/<stage>/broken_inputs.py holds one broken input for each command of its stage: BROKEN maps the command path to
(files to create, arguments, the file the error must name, its line or None); `{d}` in an argument is the test's
folder. The command must end in exactly one stderr line `error: FILE[:LINE]: expected ...` and exit status 2, print
nothing on stdout and leave no output file.
"""

from __future__ import annotations

import click
import pytest

from llmner.cli import COMMANDS, main
from llmner.core.options import RETIRED
from tests.cli import llmner, run_broken, unknown_options


def walk(command: click.Command, path: tuple[str, ...] = ()):
    """(path, command) for every runnable command under `command`."""
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):
            yield from walk(command.get_command(context, name), (*path, name))
    else:
        yield path, command


ALL = list(walk(main))
VOCABULARY = {"--data", "--eval-data", "--pred", "--model", "--output", "--out-dir", "--data-dir", "--dataset",
              "--split", "--examples", "--max-steps", "--epochs", "--batch-size", "--learning-rate", "--seed",
              "--json", "--png", "--html", "--dry-run", "--max-new-tokens", "--dtype", "--chat-template",
              "--quantization", "--shard", "--resamples", "--examples-dir"}


def test_every_stage_is_a_subcommand():
    assert len(ALL) > 30 and set(COMMANDS) == set(main.list_commands(click.Context(main)))
    assert llmner("--help").exit_code == 0


@pytest.mark.parametrize("path, command", ALL, ids=[" ".join(path) for path, _ in ALL])
def test_options_are_the_vocabulary(path, command):
    options = [p for p in command.params if isinstance(p, click.Option)]
    retired = sorted(name for p in options for name in p.opts if name in RETIRED)
    homemade = sorted(name for p in options for name in p.opts
                      if name in VOCABULARY and not getattr(p, "vocabulary", False))
    assert not retired and not homemade, (retired, homemade)


@pytest.mark.parametrize("path, command", ALL, ids=[" ".join(path) for path, _ in ALL])
def test_every_command_and_option_says_what_it_does(path, command):
    """`--help` is the reference a user reads: a description for every command, a help text for every option."""
    silent = [name for p in command.params if isinstance(p, click.Option) and not p.help for name in p.opts[:1]]
    assert command.help and not silent, (command.help, silent)


def broken_inputs() -> dict:
    from tests.baselines.broken_inputs import BROKEN as baselines
    from tests.benchmarks.broken_inputs import BROKEN as benchmarks
    from tests.converters.broken_inputs import BROKEN as converters
    from tests.evaluators.broken_inputs import BROKEN as evaluators
    from tests.prediction.broken_inputs import BROKEN as prediction
    from tests.training.broken_inputs import BROKEN as training

    return converters | training | prediction | evaluators | baselines | benchmarks


BROKEN = broken_inputs()


def test_every_command_has_a_broken_input_row():
    assert sorted(" ".join(path) for path, _ in ALL if " ".join(path) not in BROKEN) == []


@pytest.mark.parametrize("path", sorted(BROKEN))
def test_a_broken_input_is_one_line_and_status_2(tmp_path, path):
    run_broken(tmp_path, path, BROKEN[path])


def spelled_command_lines(path) -> list[tuple[int, list[str]]]:
    """(line, words) of every `llmner` command line a Python file spells with literal strings: a list holding
    "-m", "llmner", ... (a subprocess) or a call llmner("score", ...) (the tests' and benchmarks' runner). The words
    stop at the first value that is not a literal string."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        values = None
        if isinstance(node, ast.List):
            items = node.elts
            for i in range(len(items) - 1):
                if all(isinstance(v, ast.Constant) for v in items[i:i + 2]) and \
                        [v.value for v in items[i:i + 2]] == ["-m", "llmner"]:
                    values = items[i + 2:]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "llmner":
            values = node.args
        if values is not None:
            words = []
            for value in values:
                if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                    break
                words.append(value.value)
            if words:
                found.append((node.lineno, words))
    return found


def test_every_spelled_command_line_in_the_code_and_tests_exists():
    """A renamed command or option breaks the subprocesses and runners that still spell the old one; this finds them
    all at once (the benchmarks' GMB conversion spelled `data gmb` after `data convert gmb` replaced it)."""
    from tests.constants import ROOT

    files = [p for p in sorted(ROOT.rglob("*.py")) if not p.relative_to(ROOT).parts[0].startswith((".", "models",
                                                                                                   "runs", "outputs"))]
    lines = [(path, line, words) for path in files for line, words in spelled_command_lines(path)]
    assert len(lines) > 50 and unknown_options(["data", "gmb", "--input"]) != []
    wrong = [f"{path.relative_to(ROOT)}:{line}: llmner {' '.join(words)}: {bad}"
             for path, line, words in lines for bad in unknown_options(words)]
    assert not wrong, wrong


@pytest.mark.parametrize("args, message", [
    (["score", "--pred", "p.jsonl"], "error: llmner score: Missing option '--data'."),
    (["nosuch"], "error: llmner: No such command 'nosuch'."),
    (["predict-labels", "--max-new-tokens", "8"], "error: llmner predict-labels: No such option '--max-new-tokens'"),
    (["data", "convert", "conll2003", "--split", "dev"], "error: llmner data convert conll2003: Invalid value for"),
])
def test_a_usage_error_is_one_line_naming_the_command_and_its_help(args, message):
    """It was click's usage block: Usage:, Try ..., a blank line, Error: ... (four lines)."""
    result = llmner(*args)
    assert result.exit_code == 2 and result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(message) and result.stderr.endswith(" --help)\n"), result.stderr


def test_every_python_dash_m_in_the_project_names_a_module_that_runs():
    """The `python -m <package>` aliases are gone: a header or docstring that still names one (`python -m
    llmner.training.derive`) sends a reader to a command that does nothing."""
    import re
    import subprocess

    from tests.constants import ROOT

    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    named = {(path, module) for path in files if path.endswith((".py", ".yml", ".md", ".sbatch", ".sh", "Makefile"))
             and (ROOT / path).is_file()
             for module in re.findall(r"python -m ([\w.]+)", (ROOT / path).read_text(encoding="utf-8"))}
    project = {path.split("/")[0] for path in files if path.count("/") == 1 and path.endswith("/__init__.py")}
    dead = []
    for path, module in sorted(named):
        if module.split(".")[0] not in project:
            continue  # another project's (axolotl, pytest, pip)
        file = ROOT / module.replace(".", "/")
        runs = ((file / "__main__.py").is_file() or file.with_suffix(".py").is_file()
                and '__name__ == "__main__"' in file.with_suffix(".py").read_text(encoding="utf-8"))
        dead += [] if runs else [f"{path}: python -m {module}"]
    assert any(module == "llmner" for _, module in named) and dead == []
