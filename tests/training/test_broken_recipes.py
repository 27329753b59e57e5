"""Each setting a training command reads, broken: one line naming the recipe (or the launcher, or the output) and
what was expected, exit status 2, before any work (tests/training/broken_inputs.py RECIPE_ROWS)."""

from __future__ import annotations

import pytest

from tests.cli import run_broken
from tests.training.broken_inputs import RECIPE_ROWS


@pytest.mark.parametrize("name", sorted(RECIPE_ROWS))
def test_a_broken_setting_is_one_line_saying_what_was_expected(tmp_path, name):
    command, row, expected = RECIPE_ROWS[name]
    files = {path: text.replace("{d}", str(tmp_path)) if isinstance(text, str) else text
             for path, text in row[0].items()}
    assert expected in run_broken(tmp_path, command, (files, *row[1:]))
