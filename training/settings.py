"""The settings of a loaded recipe that a training command cannot do without, each refused in one line naming the
recipe when it is missing (a KeyError deep in a derivation would be a traceback)."""

from __future__ import annotations

from pathlib import Path

from llmner.core.errors import DataError


def setting(recipe: dict, key: str, path: str | Path):
    """recipe[key], which must be set.

    >>> setting({"output_dir": "runs/x"}, "output_dir", "r.yml")
    'runs/x'
    >>> setting({}, "output_dir", "r.yml")
    Traceback (most recent call last):
    llmner.core.errors.DataError: r.yml: expected a `output_dir:` setting
    """
    if recipe.get(key) in (None, ""):
        raise DataError(path, None, f"expected a `{key}:` setting")
    return recipe[key]


def first_dataset(recipe: dict, path: str | Path) -> dict:
    """The recipe's training dataset: the first entry of `datasets:`, with its `path`."""
    datasets = recipe.get("datasets")
    if not (isinstance(datasets, list) and datasets and isinstance(datasets[0], dict) and datasets[0].get("path")):
        raise DataError(path, None, "expected `datasets:` as a list whose first entry has a `path:`")
    return datasets[0]


def positive_int(recipe: dict, key: str, path: str | Path, default: int | None = None) -> int:
    """recipe[key] as a whole number of at least 1 (`default` when it is not set; without one it must be set).
    YAML reads `true` as a bool, which Python counts as an int: refused too.

    >>> positive_int({"micro_batch_size": 2}, "micro_batch_size", "r.yml")
    2
    >>> positive_int({}, "sequence_len", "r.yml", default=1024)
    1024
    >>> positive_int({"micro_batch_size": "two"}, "micro_batch_size", "r.yml")
    Traceback (most recent call last):
    llmner.core.errors.DataError: r.yml: expected `micro_batch_size:` as a whole number of at least 1, not 'two'
    """
    value = recipe.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(path, None, f"expected `{key}:` as a whole number of at least 1, not {value!r}")
    return value
