"""One broken input for every `llmner` command of this stage (the rows' form: tests/llmner/test_cli.py)."""

BROKEN: dict[str, tuple[dict, list[str], str, int | None]] = {
    # CoNLL text that is not UTF-8 on its second line
    "bench cpu": ({"conll2003/test.txt": b"EU NNP B-NP B-ORG\nrejects \xff VBZ B-VP O\n"},
                  ["--data-dir", "{d}", "--repeats", "1", "--json", "{d}/out/f.json"], "test.txt", 2),
    # the rows a previous run saved, cut mid-write
    "bench real": ({"out/rows.json": '{"smollm2_zero_shot": {'}, ["--data-dir", "{d}", "--out-dir", "{d}/out"],
                   "rows.json", 1),
    "bench tasks": ({"out/ag_news/rows.json": '{"smollm2_untouched": {'},
                    ["--data-dir", "{d}", "--out-dir", "{d}/out", "--task", "ag_news"], "rows.json", 1),
    "bench speed": ({"conll2003/train.txt": "EU NNP B-NP B-ORG\n", "out/rows.json": '{"training": {'},
                    ["--data-dir", "{d}", "--out-dir", "{d}/out"], "rows.json", 1),
    "bench gpu": ({"gmb/train.jsonl": "{oops\n", "gmb/test.jsonl": "{oops\n"},
                  ["--toy", "--data", "{d}/gmb/train.jsonl", "--out-dir", "{d}/out"], "train.jsonl", 1),
    # a bundle folder without the pinned wheels
    "bench bundle": ({"whl/stray.txt": ""}, ["--check-only", "--out-dir", "{d}/whl"], "whl", None),
    "bench constrained": ({"data.jsonl": "{oops\n"}, ["--model", "{d}/no-such-model", "--data", "{d}/data.jsonl"],
                          "data.jsonl", 1),
}
