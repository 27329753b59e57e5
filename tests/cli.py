"""Run `llmner` in-process, as a user would from the shell (through the root and its one error boundary)."""

from __future__ import annotations

from click.testing import CliRunner, Result

from llmner.cli import main


def llmner(*args) -> Result:
    """`llmner ARGS...` through click's CliRunner; paths may be given as Path objects."""
    return CliRunner().invoke(main, [str(arg) for arg in args])
