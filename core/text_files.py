"""Text files as users really have them, read line by line with exact line numbers in every error.

The one reader under every format of the project (JSONL, CSV, CoNLL/GMB column files, label lists): a UTF-8 byte
order mark is dropped, CRLF line ends are accepted, a byte that does not decode, a NUL byte or a UTF-16/32 file is
refused naming its line, and a source with nothing in it is refused rather than converted into nothing. `opened`,
the one way a file is opened (for reading or writing), lives here too, under every reader and writer of core.io.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from llmner.core.errors import DataError, os_data_error


@contextmanager
def opened(path: str | Path, mode: str = "r", gzipped: bool | None = None, **kwargs):
    """`open`, with a file-system fault turned into the one-line DataError naming the path; gzip-compressed where
    `gzipped` says, or by default where the name ends in `.gz` (shipped predictions are read as they are stored)."""
    if gzipped if gzipped is not None else str(path).endswith(".gz"):
        opener, mode = gzip.open, mode if "b" in mode else mode + "t"
    else:
        opener = open
    try:
        handle = opener(path, mode, **kwargs)
    except OSError as error:
        raise os_data_error(error, path) from None
    with handle:
        yield handle


_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"), (codecs.BOM_UTF16_LE, "UTF-16"),
              (codecs.BOM_UTF16_BE, "UTF-16"))


def raw_lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes with their line end) per line; a UTF-8 byte order mark is dropped."""
    with opened(path, "rb") as handle:
        lines, number = iter(handle), 0
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except (OSError, EOFError, zlib.error) as error:  # a .gz file cut short or not gzip at all
                raise DataError(path, number + 1, f"expected a whole gzip file ({error})") from None
            number += 1
            if number == 1:
                wide = next((name for bom, name in _WIDE_BOMS if raw.startswith(bom)), None)
                if wide:
                    raise DataError(path, 1, f"expected UTF-8 text; this file is {wide} (save it as UTF-8)")
                raw = raw.removeprefix(codecs.BOM_UTF8)
            yield number, raw


def numbered_lines(path: str | Path, encoding: str = "utf-8", keep_ends: bool = False) -> Iterator[tuple[int, str]]:
    """(line number, decoded line) per line, without its line end (`\\n` or `\\r\\n`) unless `keep_ends`."""
    for number, raw in raw_lines(path):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError:
            raise DataError(path, number, f"expected {encoding} text") from None
        if "\x00" in line:
            raise DataError(path, number, "expected text without NUL bytes")
        yield number, line if keep_ends else line.rstrip("\r\n")


def read_text(path: str | Path) -> str:
    """A whole text file, by the same rules as numbered_lines (a BOM dropped, a bad byte named by its line), every
    line end made a newline and kept, so that a parser's line numbers match the file's, the last one included."""
    return "".join(line.rstrip("\r\n") + "\n" if line.endswith("\n") else line
                   for _, line in numbered_lines(path, keep_ends=True))


def csv_rows(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, list[str]]]:
    """(line the row starts on, fields) per row, by the csv module's rules: a quoted field keeps its line breaks, a
    quote left open is refused naming the line where its row starts."""
    rows = csv.reader((line for _, line in numbered_lines(path, encoding, keep_ends=True)), strict=True)
    start = 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            raise DataError(path, start, f"expected well-formed CSV ({error}; a quote left open?)") from None
        yield start, row
        start = rows.line_num + 1


def at_least_one(items: Iterable, path: str | Path, what: str) -> Iterator:
    """`items` passed through; an empty source is refused rather than converted into nothing."""
    empty = True
    for item in items:
        empty = False
        yield item
    if empty:
        raise DataError(path, None, f"expected at least one {what}; the file has none")
