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


def test_gzipped_jsonl_is_written_and_read_as_it_is_stored(tmp_path):
    """Shipped predictions are stored as .jsonl.gz: written compressed (all or nothing), read back line by line, and
    a file cut short is the one-line error naming it, never a traceback."""
    import gzip

    from llmner.core.io import read_jsonl, write_jsonl

    path = tmp_path / "predictions.jsonl.gz"
    write_jsonl(path, ({"id": str(i), "output": "LOC: Bonn"} for i in range(500)))
    assert gzip.decompress(path.read_bytes()).startswith(b'{"id": "0"')
    assert [record["id"] for _, record in read_jsonl(path)] == [str(i) for i in range(500)]
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="cut.jsonl.gz.*expected a whole gzip file"):
        list(read_jsonl(cut))
