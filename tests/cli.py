"""Run `llmner` in-process, as a user would from the shell (through the root and its one error boundary)."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner, Result

from llmner.cli import main


def llmner(*args) -> Result:
    """`llmner ARGS...` through click's CliRunner; paths may be given as Path objects."""
    return CliRunner().invoke(main, [str(arg) for arg in args])


def run_broken(folder: Path, command: str, row: tuple) -> str:
    """Run `llmner COMMAND` on a broken input (a row of a tests/<stage>/broken_inputs.py: files to create, arguments,
    the file the error must name, its line or None) in `folder`, check that it ends as every command must (one
    stderr line `error: FILE[:LINE]: expected ...`, exit status 2, nothing on stdout, no file written), and return
    what follows the location, for a caller to check what was expected."""
    files, args, name, line = row
    for relative, content in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    before = set(folder.rglob("*"))
    result = llmner(*command.split(), *[arg.replace("{d}", str(folder)) for arg in args])
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stdout == "" and result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    location = f"{name}:{line}: " if line else f"{name}: "
    assert location in result.stderr and "expected" in result.stderr.split(location, 1)[1], (location, result.stderr)
    assert sorted(p for p in folder.rglob("*") if p.is_file() and p not in before) == []
    return result.stderr.split(location, 1)[1]


def resolve(words: list[str]):
    """The click command a line names and its remaining words, or None where a word names no command."""
    command, rest = main, list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith(("-", "<", "…", "$(")) \
            and not rest[0].isupper():  # COMMAND, RECIPE: placeholders
        command = command.get_command(click.Context(command), rest.pop(0))
        if command is None:
            return None, rest
    return command, rest


def unknown_options(words: list[str]) -> list[str]:
    """What a written `llmner` line gets wrong: the line itself where a word names no command, else the options its
    command does not take."""
    command, rest = resolve(words)
    if command is None:
        return [" ".join(words)]
    if isinstance(command, click.Group):  # a stage named as a whole, or with a placeholder for its subcommand
        return []
    known = {name for param in command.params for name in getattr(param, "opts", [])} | {"--help", "-h"}
    rest = rest[:rest.index("--")] if "--" in rest else rest  # after `--`: the launcher's own words (llmner train)
    return [word.split("=")[0] for word in rest if word.startswith("--") and word.split("=")[0] not in known]
