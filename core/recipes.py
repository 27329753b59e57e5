"""Reading a recipe (an Axolotl YAML, or a baseline's YAML config): the one way every stage loads one, so a missing
file, malformed YAML or a recipe that is not a mapping is the one-line error before any work is done."""

from __future__ import annotations

from pathlib import Path

import yaml

from llmner.core.errors import DataError
from llmner.core.text_files import read_text


def parse_recipe(text: str, path: str | Path) -> dict:
    """A recipe's text as its mapping; `path` names it in the error.

    >>> parse_recipe("base_model: m\\nmicro_batch_size: 2\\n", "r.yml")
    {'base_model': 'm', 'micro_batch_size': 2}
    >>> parse_recipe("base_model: [m\\n", "r.yml")
    Traceback (most recent call last):
    llmner.core.errors.DataError: r.yml:2: expected valid YAML (expected ',' or ']', but got '<stream end>')
    """
    try:
        recipe = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = " ".join(str(getattr(error, "problem", None) or error).split())
        raise DataError(path, mark.line + 1 if mark else None, f"expected valid YAML ({reason})") from None
    if not isinstance(recipe, dict):
        raise DataError(path, None, f"expected a YAML mapping of settings, not {type(recipe).__name__}")
    return recipe


def load_recipe(path: str | Path) -> dict:
    """The recipe at `path` as its mapping (see parse_recipe)."""
    return parse_recipe(read_text(path), path)
