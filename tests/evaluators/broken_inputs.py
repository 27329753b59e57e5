"""One broken input for every `llmner` command of this stage (the rows' form: tests/llmner/test_cli.py)."""

import json

from tests.records import NER_EXAMPLE as NER
from tests.records import jl

REPORT = {"task": "ner", "examples": 1, "entity": {"micro": {"f1": 0.5}}}



BROKEN: dict[str, tuple[dict, list[str], str, int | None]] = {
    # a prediction for an example the gold file does not have
    "score": ({"gold.jsonl": jl(NER), "pred.jsonl": jl({"id": "d/test/9", "output": "none"})},
              ["--data", "{d}/gold.jsonl", "--pred", "{d}/pred.jsonl", "--json", "{d}/out/r.json"], "pred.jsonl", 1),
    # system B's predictions are not JSON
    "compare": ({"gold.jsonl": jl(NER), "a.jsonl": "", "b.jsonl": "{oops\n"},
                ["--data", "{d}/gold.jsonl", "--pred", "{d}/a.jsonl", "--pred", "{d}/b.jsonl", "--json",
                 "{d}/out/c.json"], "b.jsonl", 1),
    # a JSON file that is not a report of `llmner score`
    "leaderboard": ({"r.json": '{"loss": 1.0}'}, ["{d}/r.json", "--output", "{d}/out/board.md", "--png",
                                                 "{d}/out/board.png"], "r.json", None),
    # a training log without a logged loss
    "plot-loss": ({"run/debug.log": "nothing logged\n"}, ["{d}/run"], "debug.log", None),
    # an integer id: a good id, but one that names no dataset for the card
    "card": ({"r.json": json.dumps(REPORT), "data.jsonl": jl(NER | {"id": 17})},
             ["--report", "{d}/r.json", "--data", "{d}/data.jsonl", "--model", "m", "--output", "{d}/out/README.md"],
             "data.jsonl", 1),
    # a model folder that is not there
    "push": ({}, ["--model", "{d}/nowhere", "--repo", "u/m", "--dry-run"], "nowhere", None),
}
