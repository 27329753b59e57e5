"""The one kind of error a user ever sees for bad input or a file-system fault, and its one-line form.

It imports nothing else of the project, so every module (the core's own included) can raise it without a cycle.
"""

from __future__ import annotations

import errno
from pathlib import Path


class DataError(Exception):
    """Bad input, reported as one line naming the file, the line and what was expected (exit status 2).

    >>> str(DataError("gold.jsonl", 3, "expected a JSON object"))
    'gold.jsonl:3: expected a JSON object'
    """

    def __init__(self, path: str | Path, line: int | None, expected: str):
        self.path, self.line, self.expected = str(path), line, expected
        super().__init__(f"{self.path}:{line}: {expected}" if line else f"{self.path}: {expected}")


# What a user should have given instead, by the file-system fault met.
_EXPECTED = {errno.ENOENT: "expected an existing file or folder", errno.EISDIR: "expected a file, not a folder",
             errno.ENOTDIR: "expected a folder on the way, not a file", errno.EACCES: "expected permission to use it",
             errno.EPERM: "expected permission to use it", errno.EROFS: "expected a writable file system",
             errno.ENOSPC: "expected free disk space", errno.EEXIST: "expected a path that is not already a file"}


def os_data_error(error: OSError, path: str | Path | None = None) -> DataError:
    """An OSError as the one-line DataError: the file it names, what was expected, and the system's reason."""
    expected = _EXPECTED.get(error.errno, "expected a readable input and a writable output")
    reason = error.strerror or " ".join(str(error).split())
    return DataError(path or error.filename or "(file)", None, f"{expected} ({reason})")


def user_error_line(error: BaseException) -> str | None:
    """The one line a user sees for an error that is theirs (bad data, a file-system fault, text that is not
    UTF-8), or None for one that is the program's (a traceback is then the honest report).

    >>> user_error_line(FileNotFoundError(2, "No such file or directory", "gold.jsonl"))
    'error: gold.jsonl: expected an existing file or folder (No such file or directory)'
    >>> user_error_line(KeyError("x")) is None
    True
    """
    if isinstance(error, DataError):
        message = str(error)
    elif isinstance(error, OSError):
        message = str(os_data_error(error))
    elif isinstance(error, UnicodeError):
        message = f"(input): expected UTF-8 text ({error})"
    else:
        return None
    return "error: " + " ".join(message.split())
