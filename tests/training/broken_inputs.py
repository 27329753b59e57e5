"""One broken input for every `llmner` command of this stage (the rows' form: tests/llmner/test_cli.py)."""

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
