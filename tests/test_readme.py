"""Every path, make target and `llmner` command line (with its options) the README names exists, and the Makefile's
and Slurm scripts' `llmner` lines too, and those of every docstring and comment in the Python sources, so the docs
cannot rot."""

from __future__ import annotations

import ast
import io
import re
import tokenize

from tests.cli import unknown_options
from tests.constants import ROOT

README = (ROOT / "README.md").read_text()
TOP_LEVEL = ("recipes/", "converters/", "evaluators/", "baselines/", "deepspeed_configs/", "slurm/", "benchmarks/",
             "samples/", "tests/", "converters/splits/", "constraints.txt", ".ci/run")


def test_every_repository_path_exists():
    paths = set(re.findall(r"(?<![\w./])((?:recipes|converters|evaluators|baselines|deepspeed_configs|slurm|benchmarks|"
                           r"samples|tests)/[\w./-]*)", README))
    assert len(paths) > 20
    missing = [p for p in sorted(paths) if not (ROOT / p.rstrip(".")).exists()]
    assert not missing, missing


def test_every_make_target_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.M))
    named = set(re.findall(r"\bmake ([a-z-]+)", README))
    assert {"demo", "test", "data", "eval", "train", "merge"} <= named
    assert named <= targets, named - targets


def test_ci_runs_the_readme_test_command():
    assert "make test" in README and "make test" in (ROOT / ".ci" / "run").read_text()
    for path in TOP_LEVEL:
        assert (ROOT / path).exists(), path


def test_data_table_is_the_registry():
    from llmner.converters.registry import markdown_table

    assert markdown_table() in README


# `llmner` command lines as the README, the Makefile and the Slurm scripts write them: the words up to the first
# option or placeholder, then the options (not an `error: llmner ...` message quoted).
COMMAND_LINE = re.compile(r"(?:^|[\s`(])(?:python -m |\$\(PY\) -m )?(?<!error: )llmner((?: [^\s`|;&)]+)+)")


def llmner_lines(text: str) -> list[list[str]]:
    """The arguments of every `llmner …` line in a text (backslash continuations joined).

    >>> llmner_lines("run `llmner score --data g.jsonl --pred p.jsonl` then $(PY) -m llmner data fetch --dataset x")
    [['score', '--data', 'g.jsonl', '--pred', 'p.jsonl'], ['data', 'fetch', '--dataset', 'x']]
    """
    joined = re.sub(r"\s*\\\n\s*", " ", text)
    # a Markdown table writes `spacy\|encoder`: the first alternative stands for the line
    return [[word.rstrip("\\") for word in match.split()] for match in COMMAND_LINE.findall(joined)]


def test_continued_lines_are_joined():
    assert llmner_lines("$(PY) -m llmner data fetch \\\n    --dataset x") == [["data", "fetch", "--dataset", "x"]]


def test_every_llmner_line_names_a_command_and_its_options():
    texts = [README, (ROOT / "Makefile").read_text()] + [p.read_text() for p in sorted((ROOT / "slurm").glob("*"))]
    lines = [words for text in texts for words in llmner_lines(text)]
    assert len(lines) > 20
    wrong = sorted({f"llmner {' '.join(words)}: {bad}" for words in lines for bad in unknown_options(words)})
    assert not wrong, wrong


PYTHON_FOLDERS = ("core", "converters", "training", "prediction", "evaluators", "baselines", "benchmarks", "llmner",
                  "tests")


def docs_of(source: str) -> list[str]:
    """The docstrings and the comments of a Python source: the text a reader takes for documentation.

    >>> docs_of('def f():\\n    "Run `llmner score`."\\n    x = "llmner nothing"  # or `llmner compare`\\n')
    ['# or `llmner compare`', 'Run `llmner score`.']
    """
    comments = [token.string for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT]
    return comments + [text for node in ast.walk(ast.parse(source))
                       if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                       and (text := ast.get_docstring(node, clean=False))]


def test_every_llmner_line_of_a_docstring_or_comment_names_a_command_and_its_options():
    found = [(path.relative_to(ROOT), words) for folder in PYTHON_FOLDERS
             for path in sorted((ROOT / folder).rglob("*.py"))
             for text in docs_of(path.read_text(encoding="utf-8")) for words in llmner_lines(text)]
    assert len(found) > 100
    wrong = sorted({f"{path}: llmner {' '.join(words)}: {bad}" for path, words in found
                    for bad in unknown_options(words)})
    assert not wrong, wrong


def test_no_entry_point_but_llmner():
    """The README's entry points are `llmner` subcommands (Axolotl's own launch line aside)."""
    assert set(re.findall(r"python -m ([\w.]+)", README)) <= {"llmner", "axolotl.cli.train", "axolotl.cli.merge_lora"}
