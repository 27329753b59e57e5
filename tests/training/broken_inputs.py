"""One broken input for every `llmner` command of this stage (tests/llmner/test_cli.py runs each once).

Rows: command path -> (files to create, arguments, the file the error must name, its line or None). `{d}` in an
argument is the test's folder. The command must end in exactly one stderr line `error: FILE[:LINE]: expected ...`
and exit status 2, print nothing on stdout and leave no output file.
"""

MALFORMED = "base_model: [m\n"  # a flow list never closed: YAML's error is on line 2

BROKEN: dict[str, tuple[dict, list[str], str, int | None]] = {
    "model": ({"afile": ""}, ["--out-dir", "{d}/afile/model"], "afile/model", None),
    "derive": ({"r.yml": MALFORMED, "d.jsonl": ""}, ["{d}/r.yml", "--data", "{d}/d.jsonl", "--out-dir", "{d}/run"],
               "r.yml", 2),
    "twin": ({"r.yml": MALFORMED}, ["{d}/r.yml", "--out-dir", "{d}/twin"], "r.yml", 2),
    "budget": ({"r.yml": "- a list, not settings\n"}, ["{d}/r.yml"], "r.yml", None),
    "train": ({"r.yml": MALFORMED}, ["{d}/r.yml", "--dry-run"], "r.yml", 2),
    "merge": ({"r.yml": MALFORMED}, ["{d}/r.yml"], "r.yml", 2),
}
