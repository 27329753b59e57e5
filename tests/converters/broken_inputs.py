"""One broken input for every `llmner` command of this stage (the rows' form: tests/llmner/test_cli.py)."""

import json

MALFORMED_JSON = '{"text": \n'

BROKEN: dict[str, tuple[dict, list[str], str, int | None]] = {
    "data fetch": ({"afile": ""}, ["--dataset", "conll2003", "--data-dir", "{d}/raw", "--out-dir", "{d}/afile/data"],
                   "afile/data/counts.json", None),
    "data convert conll2003": ({"in.conll": "EU NNP B-NP B-FOO\n"},
                               ["--input", "{d}/in.conll", "--output", "{d}/out/o.jsonl"], "in.conll", 1),
    "data convert wnut17": ({"in.conll": "@paul B-person\nsaid\n"},
                            ["--input", "{d}/in.conll", "--output", "{d}/out/o.jsonl"], "in.conll", 2),
    "data convert gmb": ({"in.csv": "Word,POS\n"}, ["--input", "{d}/in.csv", "--output", "{d}/out/o.jsonl"],
                         "in.csv", 1),
    "data convert zh_ner": ({"z.jsonl": MALFORMED_JSON}, ["--input", "{d}/z.jsonl", "--output", "{d}/out/o.jsonl"],
                            "z.jsonl", 1),
    "data convert fudan_news": ({"f.jsonl": json.dumps({"text": "文", "category": ["Art"], "output": "Space"}) + "\n"},
                                ["--input", "{d}/f.jsonl", "--output", "{d}/out/o.jsonl"], "f.jsonl", 1),
    "data convert ag_news": ({"in.csv": '"9","title","text"\n'},
                             ["--input", "{d}/in.csv", "--output", "{d}/out/o.jsonl"], "in.csv", 1),
    "data convert zh_news": ({"in.txt": "标题\t0\n", "class.txt": "\n"},
                             ["--input", "{d}/in.txt", "--output", "{d}/out/o.jsonl"], "class.txt", None),
    "data convert cmmlu": ({"in.csv": ",Question,A,B,C,D,Answer\n0,问,甲,乙,丙,丁,E\n"},
                           ["--input", "{d}/in.csv", "--output", "{d}/out/o.jsonl"], "in.csv", 2),
    "data convert-all": ({"raw/conll2003/test.txt": "EU NNP B-NP B-ORG\n", "afile": ""},
                         ["--data-dir", "{d}/raw", "--out-dir", "{d}/afile/data"], "afile/data/counts.json", None),
    "data splits": ({}, ["--data-dir", "{d}/raw"], "raw/gmb/ner_dataset.csv", None),
}
