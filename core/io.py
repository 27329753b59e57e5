"""JSON and JSONL files read with exact line numbers (over core.text_files), and outputs written whole or not at all.

The examples of the contract, read and checked, come from core.schemas.read_examples."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from llmner.core.errors import DataError, os_data_error
from llmner.core.text_files import numbered_lines, opened, read_text


def check_writable(path: str | Path) -> None:
    """Refuse, before any work is done, an output that cannot be written: a folder given as the file, or a folder
    (the nearest one that exists; missing ones are created on writing) where no file can be created."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, None, "expected a file to write, not a folder")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise DataError(path, None, f"expected a folder on the way, not the file {folder}")
    try:  # os.access says yes to root on a read-only mount; creating a file is the real test
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise DataError(path, None, f"expected a writable folder ({error.strerror})") from None


@contextmanager
def atomic_output(path: str | Path, mode: str = "w", **kwargs):
    """A handle whose file appears at `path` only once everything is written: bad input found half-way must not
    leave a truncated file that looks done."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise os_data_error(error, path) from None
    partial = path.with_name(path.name + ".partial")
    try:
        with opened(partial, mode, gzipped=path.suffix == ".gz", **kwargs) as handle:
            yield handle
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object is a DataError."""
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(path, number, f"expected one JSON object per line ({error.msg})") from None
        if not isinstance(record, dict):
            raise DataError(path, number, "expected a JSON object")
        yield number, record


def read_json(path: str | Path, kind: type = dict) -> dict | list:
    """One JSON object from a file (a report, a config); with `kind=list`, one JSON array (a list of labels)."""
    what = "a JSON array" if kind is list else "a JSON object"
    text = read_text(path)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(path, error.lineno, f"expected {what} ({error.msg})") from None
    if not isinstance(value, kind):
        raise DataError(path, None, f"expected {what}")
    return value


def write_jsonl(path: str | Path, records: Iterable) -> int:
    """Write all records or nothing; a typed record (core.schemas) as the contract spells it (its `to_json`)."""
    count = 0
    with atomic_output(path, encoding="utf-8") as handle:
        for record in records:
            record = record.to_json() if hasattr(record, "to_json") else record
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def sha256_of(path: str | Path) -> str:
    """A file's sha256, hex, by huggingface_hub's own chunked hashing."""
    from huggingface_hub.utils.sha import sha_fileobj

    with open(path, "rb") as handle:
        return sha_fileobj(handle).hex()
