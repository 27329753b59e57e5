"""The click group every command group of the project is: its commands are named up front, with their one-line help,
and imported only when one runs (scoring never imports torch; `--help` imports nothing). The root `llmner` and the
stages' own groups (`llmner baseline`, `llmner bench`) use it; it lives in the core so that no stage imports the root.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """A group whose commands are imported when they run, with their help given up front: `lazy` maps each command's
    name to ("module:attribute", one-line help).

    >>> group = LazyGroup("demo", lazy={"dumps": ("json:dumps", "Not a command, only imported by name.")})
    >>> group.list_commands(None), group.get_command(None, "dumps").__module__, group.get_command(None, "x")
    (['dumps'], 'json', None)
    """

    def __init__(self, *args, lazy: dict[str, tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx) -> list[str]:
        return list(self.lazy)

    def get_command(self, ctx, name: str):
        if name not in self.lazy:
            return None
        module, attribute = self.lazy[name][0].split(":")
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx, formatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in self.lazy.items()])
