"""One broken input for every `llmner` command of this stage (tests/test_cli.py runs each once).

Rows: command path -> (files to create, arguments, the file the error must name, its line or None). `{d}` in an
argument is the test's folder. The command must end in exactly one stderr line `error: FILE[:LINE]: expected ...`
and exit status 2, print nothing on stdout and leave no output file.
"""

BROKEN: dict[str, tuple[dict, list[str], str, int | None]] = {}
