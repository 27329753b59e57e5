"""One broken input for every `llmner` command of this stage (the rows' form: tests/llmner/test_cli.py)."""

import json

TEXT = "Peter Blackburn visited Brussels"
NER = {"id": "d/test/0", "messages": [{"role": "user", "content": TEXT}],
       "gold": {"task": "ner", "text": TEXT, "tokens": TEXT.split(), "labels": ["PER", "LOC"],
                "answer_format": "lines", "entities": [{"start": 0, "end": 15, "label": "PER"}]}}
NOT_JSON = {"data.jsonl": json.dumps(NER) + "\n{oops\n"}  # line 2 is not JSON
UNTOKENISED = {"data.jsonl": json.dumps(NER | {"gold": NER["gold"] | {"tokens": None}}) + "\n"}
BAD_CONFIG = {"config.yml": "tagger:\n  backbone: [m\n"}  # a flow list left open
SPANS = ["--data", "{d}/data.jsonl", "--output", "{d}/out/p.jsonl"]

BROKEN: dict[str, tuple[dict, list[str], str, int | None]] = {
    "baseline spacy train": ({"train.jsonl": "{oops\n", "dev.jsonl": json.dumps(NER) + "\n"},
                             ["--data", "{d}/train.jsonl", "--eval-data", "{d}/dev.jsonl", "--out-dir", "{d}/out"],
                             "train.jsonl", 1),
    "baseline spacy predict": (NOT_JSON, ["--model", "{d}/no-such-model", *SPANS], "data.jsonl", 2),
    "baseline spacy bench": ({"conll2003/train.jsonl": "{oops\n"},
                             ["--examples-dir", "{d}", "--dataset", "conll2003", "--out-dir", "{d}/out"],
                             "train.jsonl", 1),
    "baseline encoder train": (UNTOKENISED | {"dev.jsonl": json.dumps(NER) + "\n"},
                               ["--model", "{d}/no-such-model", "--data", "{d}/data.jsonl", "--eval-data",
                                "{d}/dev.jsonl", "--out-dir", "{d}/out"], "data.jsonl", 1),
    "baseline encoder predict": (UNTOKENISED, ["--model", "{d}/no-such-model", *SPANS], "data.jsonl", 1),
    "baseline crf train": (BAD_CONFIG, ["{d}/config.yml"], "config.yml", 3),
    "baseline crf predict": (BAD_CONFIG, ["{d}/config.yml", *SPANS], "config.yml", 3),
    "baseline api run": (NOT_JSON, ["--model", "m", "--base-url", "http://127.0.0.1:9", *SPANS], "data.jsonl", 2),
    "baseline tfidf train": (NOT_JSON, ["--data", "{d}/data.jsonl", "--out-dir", "{d}/out"], "data.jsonl", 2),
    # a model folder that holds no fitted pipeline
    "baseline tfidf predict": ({"model/config.json": "{}"}, ["--model", "{d}/model", *SPANS], "model", None),
}
