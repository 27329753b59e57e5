"""Reading and writing JSONL, and the one kind of error a user ever sees for bad input."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from functools import wraps
from pathlib import Path


class DataError(Exception):
    """Bad input, reported as one line naming the file, the line and what was expected (exit status 2)."""

    def __init__(self, path: str | Path, line: int | None, expected: str):
        self.path, self.line, self.expected = str(path), line, expected
        super().__init__(f"{self.path}:{line}: {expected}" if line else f"{self.path}: {expected}")


def exits_on_data_error(command):
    """Wrap a CLI entry point so that bad input ends in one line on stderr and status 2, never a traceback."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DataError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)

    return wrapper


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; a line that is not a JSON object is a DataError."""
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(path, number, f"expected one JSON object per line ({error.msg})") from None
                if not isinstance(record, dict):
                    raise DataError(path, number, "expected a JSON object")
                yield number, record
    except UnicodeDecodeError:
        raise DataError(path, None, "expected UTF-8 text") from None
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None


def read_records(path: str | Path, limit: int | None = None) -> list[dict]:
    """The records of a JSONL file in order, the first `limit` of them when given."""
    records = [record for _, record in read_jsonl(path)]
    return records if limit is None else records[:limit]


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    """Write all records or nothing: bad input found half-way must not leave a truncated file that looks done."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    count = 0
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    return count
