"""One broken input for every `llmner` command of this stage (the rows' form: tests/llmner/test_cli.py)."""


from tests.records import NER_EXAMPLE as NER
from tests.records import jl


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
