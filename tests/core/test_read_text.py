"""A whole file as users save it (BOM, CRLF, no last newline) reads as its text with newline ends; the recipe loader
and read_json read through it."""

from __future__ import annotations

import pytest

from llmner.core.errors import DataError
from llmner.core.io import read_json
from llmner.core.recipes import load_recipe
from llmner.core.text_files import read_text


def test_bom_and_crlf_are_read_as_text_with_newlines(tmp_path):
    path = tmp_path / "r.yml"
    path.write_bytes("\ufeffbase_model: m\r\nseed: 42\r\nlast: no newline".encode())
    assert read_text(path) == "base_model: m\nseed: 42\nlast: no newline"
    assert load_recipe(path) == {"base_model": "m", "seed": 42, "last": "no newline"}


def test_a_bad_byte_is_named_by_its_line_for_every_whole_file_reader(tmp_path):
    path = tmp_path / "c.json"
    path.write_bytes(b'{"a":\n "caf\xe9"}\n')
    for reader in (read_text, read_json, load_recipe):
        with pytest.raises(DataError, match=r"c\.json:2: expected utf-8 text"):
            reader(path)
