"""Every kind of bad input and file-system fault, thrown at the real commands: exit status 2, exactly one stderr line
`error: FILE[:LINE]: expected ...` naming the file (and the line where there is one), nothing on stdout (every check
that can be made first is made before a table is printed or a model loaded), no traceback, no output file left.

Each row is (id, command, files to create, arguments, the file the error must name, its line or None). `{d}` in an
argument is the test's folder. Most rows run in-process through `llmner`'s root (fast); a few run as subprocesses
to check the real entry points end the same way.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli import llmner
from tests.constants import ROOT

CONLL = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n"
GMB = "Sentence #,Word,POS,Tag\nSentence: 1,Paris,NNP,B-geo\n,is,VBZ,O\n"
AG = '"3","Fears for pension","Unions said"\n"2","Win","Team won"\n'
MCQ = "Question,A,B,C,D,Answer\n问,甲,乙,丙,丁,A\n"
THUC = "标题一\t0\n标题二\t1\n"
CLASSES = "finance\nrealty\n"
TEXT = "Peter Blackburn visited Brussels"


def jl(*records) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


ZH = {"text": "菲律宾总统",
      "entities": [{"start_idx": 0, "end_idx": 3, "entity_label": "GPE", "entity_text": "菲律宾"}]}
FUDAN = {"text": "新闻", "category": ["Space", "History"], "output": "History"}
NER_GOLD = {"id": "d/test/0", "messages": [{"role": "user", "content": TEXT}],
            "gold": {"task": "ner", "text": TEXT, "tokens": TEXT.split(), "labels": ["PER", "LOC"],
                     "answer_format": "lines", "entities": [{"start": 0, "end": 15, "label": "PER"}]}}
CLS_GOLD = {"id": "c/test/0", "messages": [{"role": "user", "content": "t"}],
            "gold": {"task": "classification", "label": "Sports", "labels": ["World", "Sports"]}}
MCQ_GOLD = {"id": "m/test/0", "messages": [{"role": "user", "content": "q"}],
            "gold": {"task": "mcq", "answer": "B", "options": {k: k for k in "ABCD"}}}


def gold(base: dict, **change) -> dict:
    return base | {"gold": base["gold"] | change}


NER_NO_LABELS = NER_GOLD | {"gold": {key: value for key, value in NER_GOLD["gold"].items() if key != "labels"}}


def utf16(text: str) -> bytes:
    return text.encode("utf-16")


# The `llmner` words before each row's arguments, by stage.
DATA = ("data",)
CONVERT = ("data", "convert")

SCORE = ("score",)

CARD = ("card",)

PREDICT = ("predict",)

BENCH = ("bench",)

BASELINE = ("baseline",)
NER_SCORE = ["--data", "{d}/gold.jsonl", "--pred", "{d}/pred.jsonl"]
GOOD_NER = {"gold.jsonl": jl(NER_GOLD), "pred.jsonl": jl({"id": "d/test/0", "output": "PER: Peter Blackburn"})}


def ner_pred(*records) -> dict:
    return {"gold.jsonl": jl(NER_GOLD), "pred.jsonl": jl(*records)}


def cls_pred(*records) -> dict:
    return {"gold.jsonl": jl(CLS_GOLD), "pred.jsonl": jl(*records)}


def conll(path="{d}/in.conll"):
    return ["conll2003", "--input", path, "--output", "{d}/out/o.jsonl"]


def seeded(name, path):
    return [name, "--input", path, "--output", "{d}/out/o.jsonl", "--split", "all"]


def classify(path, *extra):
    """AG News for a .csv, THUCNews (zh_news) for anything else."""
    return ["ag_news" if path.endswith(".csv") else "zh_news", "--input", path, "--output", "{d}/out/o.jsonl", *extra]


def mcq(path):
    return ["cmmlu", "--input", path, "--output", "{d}/out/o.jsonl"]


def fudan(path):
    return ["fudan_news", "--input", path, "--output", "{d}/out/o.jsonl"]


def predict(data="{d}/data.jsonl", output="{d}/out/p.jsonl"):
    return ["--model", "{d}/no-such-model", "--data", data, "--output", output]


CASES = [
    # --- a path that is missing, a folder, or not readable ---------------------------------------------------------
    ("conll-missing", CONVERT, {}, conll("{d}/missing.conll"), "missing.conll", None),
    ("conll-folder", CONVERT, {"dir/x": ""}, conll("{d}/dir"), "dir", None),
    ("gmb-missing", CONVERT, {}, seeded("gmb", "{d}/missing.csv"), "missing.csv", None),
    ("gmb-folder", CONVERT, {"dir/x": ""}, seeded("gmb", "{d}/dir"), "dir", None),
    ("zh-ner-folder", CONVERT, {"dir/x": ""}, seeded("zh_ner", "{d}/dir"), "dir", None),
    ("ag-news-folder", CONVERT, {"dir.csv/x": ""}, classify("{d}/dir.csv"), "dir.csv", None),
    ("thucnews-missing", CONVERT, {}, classify("{d}/missing.txt", "--classes", "{d}/missing.txt"), "missing.txt",
     None),
    ("class-list-folder", CONVERT, {"in.txt": THUC, "dir/x": ""}, classify("{d}/in.txt", "--classes", "{d}/dir"),
     "dir", None),
    ("parquet-missing", CONVERT, {}, conll("{d}/missing.parquet"), "missing.parquet", None),
    ("parquet-not-parquet", CONVERT, {"in.parquet": "junk"}, conll("{d}/in.parquet"), "in.parquet", None),
    ("mcq-missing", CONVERT, {}, mcq("{d}/missing.csv"), "missing.csv", None),
    ("fudan-folder", CONVERT, {"dir/x": ""}, fudan("{d}/dir"), "dir", None),
    ("shot-pool-missing", CONVERT, {"in.txt": THUC, "class.txt": CLASSES},
     classify("{d}/in.txt", "--shots", "1", "--shot-pool", "{d}/pool.txt"), "pool.txt", None),
    ("score-gold-folder", SCORE, {"dir/x": "", "pred.jsonl": ""},
     ["--data", "{d}/dir", "--pred", "{d}/pred.jsonl"], "dir", None),
    ("score-gold-missing", SCORE, {"pred.jsonl": ""}, NER_SCORE, "gold.jsonl", None),
    ("score-pred-missing", SCORE, {"gold.jsonl": jl(NER_GOLD)}, NER_SCORE, "pred.jsonl", None),
    ("score-pred-folder", SCORE, {"gold.jsonl": jl(NER_GOLD), "dir/x": ""},
     ["--data", "{d}/gold.jsonl", "--pred", "{d}/dir"], "dir", None),
    ("predict-data-folder", PREDICT, {"dir/x": ""}, predict(data="{d}/dir"), "dir", None),
    ("predict-data-missing", PREDICT, {}, predict(), "data.jsonl", None),
    ("card-report-folder", CARD, {"dir/x": "", "gold.jsonl": jl(NER_GOLD)},
     ["--report", "{d}/dir", "--data", "{d}/gold.jsonl", "--model", "m", "--output", "{d}/out/README.md"],
     "dir", None),
    # --- an output that cannot be written: refused before any work, before a table is printed or a model loaded --
    ("convert-output-under-a-file", CONVERT, {"in.conll": CONLL, "afile": ""},
     ["conll2003", "--input", "{d}/in.conll", "--output", "{d}/afile/o.jsonl"], "o.jsonl", None),
    ("convert-output-is-a-folder", CONVERT, {"in.conll": CONLL, "dir/x": ""},
     ["conll2003", "--input", "{d}/in.conll", "--output", "{d}/dir"], "dir", None),
    ("convert-output-read-only", CONVERT, {"in.conll": CONLL},
     ["conll2003", "--input", "{d}/in.conll", "--output", "/proc/no-such/o.jsonl"], "o.jsonl", None),
    ("gmb-output-under-a-file", CONVERT, {"in.csv": GMB, "afile": ""},
     ["gmb", "--input", "{d}/in.csv", "--output", "{d}/afile/o.jsonl", "--split", "all"], "o.jsonl", None),
    ("all-out-dir-under-a-file", DATA, {"raw/conll2003/test.txt": CONLL, "afile": ""},
     ["convert-all", "--data-dir", "{d}/raw", "--out-dir", "{d}/afile/data"], "counts.json", None),
    ("score-json-under-a-file", SCORE, GOOD_NER | {"afile": ""}, NER_SCORE + ["--json", "{d}/afile/r.json"],
     "r.json", None),
    ("score-json-read-only", SCORE, GOOD_NER, NER_SCORE + ["--json", "/proc/no-such/r.json"], "r.json", None),
    ("score-json-is-a-folder", SCORE, GOOD_NER | {"dir/x": ""}, NER_SCORE + ["--json", "{d}/dir"], "dir", None),
    ("score-confusion-under-a-file", SCORE, GOOD_NER | {"afile": ""},
     NER_SCORE + ["--confusion-png", "{d}/afile/c.png"], "c.png", None),
    ("score-reliability-under-a-file", SCORE, cls_pred({"id": "c/test/0", "label": "Sports", "confidence": 0.5})
     | {"afile": ""}, NER_SCORE + ["--reliability-png", "{d}/afile/r.png"], "r.png", None),
    ("score-submission-under-a-file", SCORE, {"gold.jsonl": jl(MCQ_GOLD), "pred.jsonl": jl({"id": "m/test/0",
     "output": "B"}), "afile": ""}, NER_SCORE + ["--submission", "{d}/afile/submission.csv"], "submission.csv",
     None),
    ("predict-output-under-a-file", PREDICT, {"data.jsonl": jl(NER_GOLD), "afile": ""},
     predict(output="{d}/afile/p.jsonl"), "p.jsonl", None),
    ("predict-output-read-only", PREDICT, {"data.jsonl": jl(NER_GOLD)}, predict(output="/proc/no-such/p.jsonl"),
     "p.jsonl", None),
    ("card-output-under-a-file", CARD, {"r.json": "{}", "gold.jsonl": jl(NER_GOLD), "afile": ""},
     ["--report", "{d}/r.json", "--data", "{d}/gold.jsonl", "--model", "m", "--output",
      "{d}/afile/README.md"], "README.md", None),
    # --- encodings, bytes and line ends --------------------------------------------------------------------------
    ("conll-utf16", CONVERT, {"in.conll": utf16(CONLL)}, conll(), "in.conll", 1),
    ("gmb-utf16", CONVERT, {"in.csv": utf16(GMB)}, seeded("gmb", "{d}/in.csv"), "in.csv", 1),
    ("jsonl-utf16", CONVERT, {"z.jsonl": utf16(jl(ZH))}, seeded("zh_ner", "{d}/z.jsonl"), "z.jsonl", 1),
    ("csv-utf16", CONVERT, {"in.csv": utf16(AG)}, classify("{d}/in.csv"), "in.csv", 1),
    ("conll-bad-byte-line-4", CONVERT, {"in.conll": CONLL.encode()[:-5] + b"\xff\n"}, conll(), "in.conll", 4),
    ("jsonl-bad-byte-line-3", CONVERT, {"z.jsonl": jl(ZH, ZH).encode() + b'{"text": "\xff"}\n'},
     seeded("zh_ner", "{d}/z.jsonl"), "z.jsonl", 3),
    ("pred-bad-byte-line-2", SCORE, {"gold.jsonl": jl(NER_GOLD), "pred.jsonl": b'\n{"id": "\xe9"}\n'}, NER_SCORE,
     "pred.jsonl", 2),
    ("gold-bad-byte-line-1", SCORE, {"gold.jsonl": b"\xff\xfe\xfd\n", "pred.jsonl": ""}, NER_SCORE, "gold.jsonl",
     1),
    ("csv-bad-byte-line-2", CONVERT, {"in.csv": AG.encode().replace(b"Win", b"W\xffn")}, classify("{d}/in.csv"),
     "in.csv", 2),
    ("mcq-bad-byte-line-2", CONVERT, {"in.csv": MCQ.encode("gbk")}, mcq("{d}/in.csv"), "in.csv", 2),
    ("class-list-bad-byte", CONVERT, {"in.txt": THUC, "c.txt": b"finance\nr\xe9alty\n"},
     classify("{d}/in.txt", "--classes", "{d}/c.txt"), "c.txt", 2),
    ("conll-nul", CONVERT, {"in.conll": CONLL.replace("rejects", "rej\x00ects")}, conll(), "in.conll", 2),
    ("jsonl-nul", CONVERT, {"z.jsonl": jl(ZH) + '{"text": "a\x00", "entities": []}\n'},
     seeded("zh_ner", "{d}/z.jsonl"), "z.jsonl", 2),
    ("csv-nul", CONVERT, {"in.csv": AG.replace("Win", "W\x00n")}, classify("{d}/in.csv"), "in.csv", 2),
    ("gmb-nul", CONVERT, {"in.csv": GMB.replace(",is,", ",i\x00s,")}, seeded("gmb", "{d}/in.csv"), "in.csv", 3),
    ("pred-nul", SCORE, ner_pred() | {"pred.jsonl": '{"id": "d/test/0", "output": "x"}\x00\n'}, NER_SCORE,
     "pred.jsonl", 1),
    # --- empty sources -------------------------------------------------------------------------------------------
    ("conll-empty", CONVERT, {"in.conll": ""}, conll(), "in.conll", None),
    ("conll-blank-lines", CONVERT, {"in.conll": "\n\r\n\n"}, conll(), "in.conll", None),
    ("conll-docstart-only", CONVERT, {"in.conll": "-DOCSTART- -X- -X- O\n\n"}, conll(), "in.conll", None),
    ("gmb-header-only", CONVERT, {"in.csv": "Sentence #,Word,POS,Tag\n"}, seeded("gmb", "{d}/in.csv"), "in.csv",
     None),
    ("zh-ner-empty", CONVERT, {"z.jsonl": "\n"}, seeded("zh_ner", "{d}/z.jsonl"), "z.jsonl", None),
    ("ag-news-empty", CONVERT, {"in.csv": ""}, classify("{d}/in.csv"), "in.csv", None),
    ("thucnews-empty", CONVERT, {"in.txt": "\n", "class.txt": CLASSES}, classify("{d}/in.txt"), "in.txt", None),
    ("class-list-empty", CONVERT, {"in.txt": THUC, "class.txt": "\n"}, classify("{d}/in.txt"), "class.txt", None),
    ("mcq-header-only", CONVERT, {"in.csv": "Question,A,B,C,D,Answer\n"}, mcq("{d}/in.csv"), "in.csv", None),
    ("mcq-empty", CONVERT, {"in.csv": ""}, mcq("{d}/in.csv"), "in.csv", 1),
    ("fudan-empty", CONVERT, {"f.jsonl": ""}, fudan("{d}/f.jsonl"), "f.jsonl", None),
    ("gold-empty", SCORE, {"gold.jsonl": "", "pred.jsonl": ""}, NER_SCORE, "gold.jsonl", None),
    ("predict-data-empty", PREDICT, {"data.jsonl": "\n"}, predict(), "data.jsonl", None),
    # --- CSV by the csv module's rules ---------------------------------------------------------------------------
    ("ag-news-open-quote", CONVERT, {"in.csv": AG + '"1","Cut off,"here\n'}, classify("{d}/in.csv"), "in.csv", 3),
    ("ag-news-cut-in-quoted-field", CONVERT, {"in.csv": AG + '"1","Title","cut\nhere\n'}, classify("{d}/in.csv"),
     "in.csv", 3),
    ("mcq-open-quote", CONVERT, {"in.csv": MCQ + '问,"甲,乙,丙,丁,A\n'}, mcq("{d}/in.csv"), "in.csv", 3),
    ("gmb-open-quote", CONVERT, {"in.csv": GMB + ',"of,IN,O\n'}, seeded("gmb", "{d}/in.csv"), "in.csv", 4),
    # --- raw JSONL records of the wrong shape --------------------------------------------------------------------
    ("zh-ner-entities-null", CONVERT, {"z.jsonl": jl(ZH, ZH | {"entities": None})}, seeded("zh_ner", "{d}/z.jsonl"),
     "z.jsonl", 2),
    ("zh-ner-entities-number", CONVERT, {"z.jsonl": jl(ZH | {"entities": 3})}, seeded("zh_ner", "{d}/z.jsonl"),
     "z.jsonl", 1),
    ("zh-ner-entities-nested", CONVERT, {"z.jsonl": jl(ZH | {"entities": [ZH["entities"]]})},
     seeded("zh_ner", "{d}/z.jsonl"), "z.jsonl", 1),
    ("zh-ner-offset-float", CONVERT, {"z.jsonl": jl(ZH | {"entities": [ZH["entities"][0] | {"end_idx": 3.0}]})},
     seeded("zh_ner", "{d}/z.jsonl"), "z.jsonl", 1),
    ("zh-ner-offset-bool", CONVERT, {"z.jsonl": jl(ZH | {"entities": [ZH["entities"][0] | {"start_idx": False}]})},
     seeded("zh_ner", "{d}/z.jsonl"), "z.jsonl", 1),
    ("zh-ner-offset-string", CONVERT, {"z.jsonl": jl(ZH | {"entities": [ZH["entities"][0] | {"start_idx": "0"}]})},
     seeded("zh_ner", "{d}/z.jsonl"), "z.jsonl", 1),
    ("zh-ner-text-null", CONVERT, {"z.jsonl": jl(ZH | {"text": None})}, seeded("zh_ner", "{d}/z.jsonl"), "z.jsonl", 1),
    ("zh-ner-a-list", CONVERT, {"z.jsonl": "[1, 2]\n"}, seeded("zh_ner", "{d}/z.jsonl"), "z.jsonl", 1),
    ("fudan-category-number", CONVERT, {"f.jsonl": jl(FUDAN | {"category": 3})}, fudan("{d}/f.jsonl"), "f.jsonl", 1),
    ("fudan-text-missing", CONVERT, {"f.jsonl": jl({"category": ["a"], "output": "a"})}, fudan("{d}/f.jsonl"),
     "f.jsonl", 1),
    # --- options out of range ------------------------------------------------------------------------------------
    ("shots-more-than-pool", CONVERT, {"in.txt": THUC, "pool.txt": THUC, "class.txt": CLASSES},
     classify("{d}/in.txt", "--shots", "3", "--shot-pool", "{d}/pool.txt"), "pool.txt", None),
    ("shots-negative", CONVERT, {"in.txt": THUC, "pool.txt": THUC, "class.txt": CLASSES},
     classify("{d}/in.txt", "--shots", "-1", "--shot-pool", "{d}/pool.txt"), "pool.txt", None),
    # --- gold examples of the wrong shape ------------------------------------------------------------------------
    ("gold-unknown-answer-format", SCORE, ner_pred() | {"gold.jsonl": jl(gold(NER_GOLD, answer_format="yaml"))},
     NER_SCORE, "gold.jsonl", 1),
    ("gold-token-not-in-text", SCORE, ner_pred() | {"gold.jsonl": jl(gold(NER_GOLD, tokens=["Paul"]))}, NER_SCORE,
     "gold.jsonl", 1),
    ("gold-entity-start-float", SCORE, ner_pred() | {"gold.jsonl": jl(gold(NER_GOLD, entities=[
        {"start": 0.0, "end": 15, "label": "PER"}]))}, NER_SCORE, "gold.jsonl", 1),
    ("gold-span-outside-text", SCORE, ner_pred() | {"gold.jsonl": jl(gold(NER_GOLD, entities=[
        {"start": 0, "end": 99, "label": "PER"}]))}, NER_SCORE, "gold.jsonl", 1),
    ("gold-id-a-list", SCORE, ner_pred() | {"gold.jsonl": jl(NER_GOLD | {"id": ["d", 0]})}, NER_SCORE, "gold.jsonl",
     1),
    ("gold-unknown-task", SCORE, ner_pred() | {"gold.jsonl": jl(gold(NER_GOLD, task="qa"))}, NER_SCORE, "gold.jsonl",
     1),
    ("gold-label-not-in-labels", SCORE, cls_pred() | {"gold.jsonl": jl(gold(CLS_GOLD, label="Tennis"))}, NER_SCORE,
     "gold.jsonl", 1),
    ("gold-mcq-answer-e", SCORE, {"gold.jsonl": jl(gold(MCQ_GOLD, answer="E")), "pred.jsonl": ""}, NER_SCORE,
     "gold.jsonl", 1),
    ("gold-second-of-mixed-tasks", SCORE, {"gold.jsonl": jl(NER_GOLD, CLS_GOLD), "pred.jsonl": ""}, NER_SCORE,
     "gold.jsonl", 2),
    ("gold-duplicate-id", SCORE, {"gold.jsonl": jl(NER_GOLD, NER_GOLD), "pred.jsonl": ""}, NER_SCORE, "gold.jsonl",
     2),
    # --- predictions of the wrong shape --------------------------------------------------------------------------
    ("pred-id-a-list", SCORE, ner_pred({"id": ["d/test/0"], "output": ""}), NER_SCORE, "pred.jsonl", 1),
    ("pred-id-unknown", SCORE, ner_pred({"id": "d/test/9", "output": ""}), NER_SCORE, "pred.jsonl", 1),
    ("pred-id-twice", SCORE, ner_pred({"id": "d/test/0", "output": ""}, {"id": "d/test/0", "output": ""}),
     NER_SCORE, "pred.jsonl", 2),
    ("pred-entities-null", SCORE, ner_pred({"id": "d/test/0", "entities": None}), NER_SCORE, "pred.jsonl", 1),
    ("pred-output-and-entities", SCORE, ner_pred({"id": "d/test/0", "output": "PER: Peter Blackburn",
                                                   "entities": []}), NER_SCORE, "pred.jsonl", 1),
    ("pred-neither-key", SCORE, ner_pred({"id": "d/test/0", "label": "PER"}), NER_SCORE, "pred.jsonl", 1),
    ("pred-offset-float", SCORE, ner_pred({"id": "d/test/0", "entities": [{"start": 0, "end": 15.0, "label": "PER"}]}),
     NER_SCORE, "pred.jsonl", 1),
    ("pred-offset-bool", SCORE, ner_pred({"id": "d/test/0", "entities": [{"start": False, "end": 15, "label": "PER"}]}),
     NER_SCORE, "pred.jsonl", 1),
    ("pred-span-outside-text", SCORE, ner_pred({"id": "d/test/0", "entities": [{"start": 0, "end": 99, "label": "P"}]}),
     NER_SCORE, "pred.jsonl", 1),
    ("pred-output-a-number", SCORE, ner_pred({"id": "d/test/0", "output": 3}), NER_SCORE, "pred.jsonl", 1),
    ("pred-confidence-nan", SCORE, cls_pred({"id": "c/test/0", "label": "Sports", "confidence": float("nan")}),
     NER_SCORE, "pred.jsonl", 1),
    ("pred-confidence-string", SCORE, cls_pred({"id": "c/test/0", "label": "Sports", "confidence": "0.9"}),
     NER_SCORE, "pred.jsonl", 1),
    ("pred-confidence-above-one", SCORE, cls_pred({"id": "c/test/0", "label": "Sports", "confidence": 1.5}),
     NER_SCORE, "pred.jsonl", 1),
    ("pred-label-and-output", SCORE, cls_pred({"id": "c/test/0", "label": "Sports", "output": "World"}), NER_SCORE,
     "pred.jsonl", 1),
    ("pred-label-null", SCORE, cls_pred({"id": "c/test/0", "label": None}), NER_SCORE, "pred.jsonl", 1),
    ("pred-mcq-answer-number", SCORE, {"gold.jsonl": jl(MCQ_GOLD), "pred.jsonl": jl({"id": "m/test/0", "answer": 2})},
     NER_SCORE, "pred.jsonl", 1),
    ("pred-not-json", SCORE, ner_pred() | {"pred.jsonl": '{"id": "d/test/0", "output": ""}\n{"id": \n'}, NER_SCORE,
     "pred.jsonl", 2),
    # --- examples a model is prompted with -----------------------------------------------------------------------
    ("predict-data-no-messages", PREDICT, {"data.jsonl": jl({"id": "d/0", "gold": NER_GOLD["gold"]})}, predict(),
     "data.jsonl", 1),
    ("predict-data-no-user-turn", PREDICT, {"data.jsonl": jl(NER_GOLD | {"messages": []})}, predict(), "data.jsonl",
     1),
    ("predict-data-id-a-list", PREDICT, {"data.jsonl": jl(NER_GOLD | {"id": [1]})}, predict(), "data.jsonl", 1),
    # a valid NER example may leave out its label set, which constrained decoding needs (a KeyError once)
    *[(f"predict-constrained-{mode}-no-labels", PREDICT, {"data.jsonl": jl(NER_NO_LABELS)},
       [*predict(), "--constrained", mode], "data.jsonl", 1) for mode in ("skip", "end", "force")],
    ("predict-constrained-not-ner", PREDICT, {"data.jsonl": jl(CLS_GOLD)}, [*predict(), "--constrained"],
     "data.jsonl", 1),
    ("bench-constrained-no-labels", BENCH, {"data.jsonl": jl(NER_NO_LABELS)},
     ["constrained", "--model", "{d}/no-such-model", "--data", "{d}/data.jsonl"], "data.jsonl", 1),
    ("bench-constrained-not-ner", BENCH, {"data.jsonl": jl(CLS_GOLD)},
     ["constrained", "--model", "{d}/no-such-model", "--data", "{d}/data.jsonl"], "data.jsonl", 1),
    ("tagger-data-not-tokenised", BASELINE, {"data.jsonl": jl(gold(NER_GOLD, tokens=None))},
     ["encoder", "predict", "--model", "{d}/no-such-model", "--data", "{d}/data.jsonl", "--output",
      "{d}/out/p.jsonl"], "data.jsonl", 1),
    ("tagger-data-no-gold", BASELINE, {"data.jsonl": jl({"id": "d/0", "messages": []})},
     ["encoder", "predict", "--model", "{d}/no-such-model", "--data", "{d}/data.jsonl", "--output",
      "{d}/out/p.jsonl"], "data.jsonl", 1),
    # a valid tokenised NER example may leave out its label set, which a tagger learns its tags from (a KeyError once)
    ("tagger-train-no-labels", BASELINE, {"data.jsonl": jl(NER_NO_LABELS), "dev.jsonl": jl(NER_GOLD)},
     ["encoder", "train", "--model", "{d}/no-such-model", "--data", "{d}/data.jsonl", "--eval-data",
      "{d}/dev.jsonl", "--out-dir", "{d}/out"], "data.jsonl", 1),
    ("tagger-output-under-a-file", BASELINE, {"data.jsonl": jl(NER_GOLD), "afile": ""},
     ["encoder", "predict", "--model", "{d}/no-such-model", "--data", "{d}/data.jsonl", "--output",
      "{d}/afile/p.jsonl"], "p.jsonl", None),
    ("spacy-output-under-a-file", BASELINE, {"data.jsonl": jl(NER_GOLD), "afile": ""},
     ["spacy", "predict", "--model", "{d}/no-such-model", "--data", "{d}/data.jsonl", "--output",
      "{d}/afile/p.jsonl"], "p.jsonl", None),
    ("card-report-not-json", CARD, {"r.json": "{oops", "gold.jsonl": jl(NER_GOLD)},
     ["--report", "{d}/r.json", "--data", "{d}/gold.jsonl", "--model", "m", "--output", "{d}/out/README.md"],
     "r.json", 1),
]


def make_files(folder, files: dict) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


def outputs_left(folder, before: set) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p not in before)


def check_one_line_error(stderr: str, stdout: str, name: str, line: int | None) -> None:
    assert stdout == "", f"printed before the error: {stdout!r}"
    assert "Traceback" not in stderr and stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert stderr.startswith("error: "), stderr
    location = f"{name}:{line}: " if line else f"{name}: "
    assert location in stderr and "expected" in stderr.split(location, 1)[1], (location, stderr)


@pytest.mark.parametrize("command, files, args, name, line", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_and_status_2(tmp_path, command, files, args, name, line):
    make_files(tmp_path, files)
    before = set(tmp_path.rglob("*"))
    result = llmner(*command, *[arg.replace("{d}", str(tmp_path)) for arg in args])
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    check_one_line_error(result.stderr, result.stdout, name, line)
    assert outputs_left(tmp_path, before) == []


SUBPROCESS_CASES = ["conll-folder", "gmb-utf16", "score-json-under-a-file", "pred-confidence-nan",
                    "predict-output-under-a-file"]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_real_entry_points_end_the_same_way(tmp_path, case):
    _, command, files, args, name, line = next(c for c in CASES if c[0] == case)
    make_files(tmp_path, files)
    before = set(tmp_path.rglob("*"))
    process = subprocess.run([sys.executable, "-m", "llmner", *command,
                              *[a.replace("{d}", str(tmp_path)) for a in args]],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert process.returncode == 2, process.stderr
    check_one_line_error(process.stderr, process.stdout, name, line)
    assert outputs_left(tmp_path, before) == []
