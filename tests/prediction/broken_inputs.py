"""One broken input for every `llmner` command of this stage (tests/llmner/test_cli.py runs each once).

Rows: command path -> (files to create, arguments, the file the error must name, its line or None). `{d}` in an
argument is the test's folder. The command must end in exactly one stderr line `error: FILE[:LINE]: expected ...`
and exit status 2, print nothing on stdout and leave no output file.
"""

import json

TEXT = "Peter Blackburn visited Brussels"
NER = {"id": "d/test/0", "messages": [{"role": "user", "content": TEXT}],
       "gold": {"task": "ner", "text": TEXT, "entities": [{"start": 0, "end": 15, "label": "PER"}]}}


def jl(*records) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def run(data: str = "{d}/data.jsonl") -> list[str]:
    return ["--model", "{d}/no-such-model", "--data", data, "--output", "{d}/out/p.jsonl"]


BROKEN: dict[str, tuple[dict, list[str], str, int | None]] = {
    # an id that is a list: refused by the examples' schema before any model is loaded
    "predict": ({"data.jsonl": jl(NER | {"id": [1]})}, run(), "data.jsonl", 1),
    # NER examples have no labels to score
    "predict-labels": ({"data.jsonl": jl(NER)}, run(), "data.jsonl", None),
    # a prediction whose id is no id at all (true is not the integer 1)
    "merge-shards": ({"data.jsonl": jl(NER), "0-of-1.jsonl": jl({"id": True, "output": "none"})},
                     ["--data", "{d}/data.jsonl", "--output", "{d}/out/p.jsonl", "{d}/0-of-1.jsonl"], "0-of-1.jsonl",
                     1),
}
