"""Text files read line by line with exact line numbers in every error, including encoding errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from core.io import DataError


def numbered_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError:
                raise DataError(path, number, f"expected {encoding} text") from None
