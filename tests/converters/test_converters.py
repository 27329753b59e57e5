"""Converters: exact counts on the real files, the fixed splits, IOB1, shots, and one-line errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmner.converters import gmb, zh_ner
from llmner.core.examples import seeded_split
from tests.cli import llmner
from tests.constants import FIXTURES, ROOT, shared


def run(dataset: str, *args: str):
    """`llmner data convert DATASET ARGS...` (`all`: `llmner data convert-all ARGS...`)."""
    return llmner("data", "convert-all", *args) if dataset == "all" else llmner("data", "convert", dataset, *args)


def lines(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_five_sentences_match_the_expected_jsonl(tmp_path):
    out = tmp_path / "five.jsonl"
    assert run("conll2003", "--input", str(FIXTURES / "five.conll"), "--output", str(out)).exit_code == 0
    assert lines(out) == lines(FIXTURES / "five.expected.jsonl")


def test_examples_follow_the_contract(tmp_path):
    out = tmp_path / "five.jsonl"
    run("conll2003", "--input", str(FIXTURES / "five.conll"), "--output", str(out))
    for example in lines(out):
        assert [turn["role"] for turn in example["messages"]] == ["system", "user", "assistant"]
        gold = example["gold"]
        assert gold["text"] == " ".join(gold["tokens"]) == example["messages"][1]["content"]
        for entity in gold["entities"]:
            assert gold["text"][entity["start"]:entity["end"]].strip() == gold["text"][entity["start"]:entity["end"]]


def test_every_converter_defaults_to_the_test_split():
    """gmb and zh_ner defaulted to train: a file converted without --split got train ids."""
    from llmner.converters.cli import convert

    defaults = {name: next(p.default for p in command.params if p.name == "split")
                for name, command in convert.commands.items()}
    assert len(defaults) == 8 and set(defaults.values()) == {"test"}, defaults


def test_a_split_named_in_the_ids_is_the_files_own(tmp_path):
    out = tmp_path / "v.jsonl"
    assert run("conll2003", "--input", str(FIXTURES / "five.conll"), "--output", str(out),
               "--split", "validation").exit_code == 0
    assert {example["id"].split("/")[1] for example in lines(out)} == {"validation"}


def test_iob1_is_converted(tmp_path):
    iob2 = (FIXTURES / "five.conll").read_text()
    # IOB1 starts entities with I- and uses B- only between two adjacent entities of one type.
    iob1 = (iob2.replace("B-ORG", "I-ORG").replace("B-MISC", "I-MISC")
            .replace("B-PER", "I-PER").replace("B-LOC", "I-LOC"))
    (tmp_path / "iob1.conll").write_text(iob1)
    out = tmp_path / "iob1.jsonl"
    assert run("conll2003", "--input", str(tmp_path / "iob1.conll"), "--output", str(out),
               "--scheme", "iob1").exit_code == 0
    assert lines(out) == lines(FIXTURES / "five.expected.jsonl")


def test_iob1_adjacent_entities_of_one_type(tmp_path):
    (tmp_path / "f.conll").write_text("Paris I-LOC\nLondon B-LOC\nRome I-LOC\n")
    run("conll2003", "--input", str(tmp_path / "f.conll"), "--output", str(tmp_path / "o.jsonl"), "--scheme", "iob1")
    assert lines(tmp_path / "o.jsonl")[0]["gold"]["entities"] == [
        {"start": 0, "end": 5, "label": "LOC"}, {"start": 6, "end": 17, "label": "LOC"}]


# --- bad input: one line naming file and line, exit status 2 ----------------------------------------------------

@pytest.mark.parametrize("content, dataset, expected", [
    ("EU NNP B-NP B-ORG\nrejects VBZ\n", "conll2003", ":2: expected 4 columns"),
    ("EU NNP B-NP B-FOO\n", "conll2003", ":1: in the sentence starting here: unknown tag 'B-FOO'"),
    ("EU NNP B-NP B-ORG\nrejects VBZ B-VP I-PER\n", "conll2003", "continues no entity of type PER"),
    ("EU NNP B-NP I-ORG\n", "conll2003", "continues no entity of type ORG"),
    ("EU NNP B-NP XYZ\n", "conll2003", "expected O, B-TYPE or I-TYPE"),
])
def test_bad_column_files(tmp_path, content, dataset, expected):
    (tmp_path / "bad.conll").write_text(content)
    result = run(dataset, "--input", str(tmp_path / "bad.conll"), "--output", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 2
    assert expected in result.output and "bad.conll" in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_bad_input_leaves_no_output_behind(tmp_path):
    (tmp_path / "bad.conll").write_text("EU NNP B-NP B-ORG\n\nrejects VBZ B-VP B-FOO\n")
    result = run("conll2003", "--input", str(tmp_path / "bad.conll"), "--output", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["bad.conll"]


def test_a_sentence_the_inline_format_cannot_write_names_the_line(tmp_path):
    """A sentence that itself reads as inline markup ("[a | LOC]") cannot be answered by a copy of it: one line."""
    (tmp_path / "f.conll").write_text("EU NNP B-NP B-ORG\n\nsee VB O O\n[a NN O O\n| NN O O\nLOC] NN O O\n")
    result = run("conll2003", "--input", str(tmp_path / "f.conll"), "--output", str(tmp_path / "o.jsonl"),
                 "--answer-format", "inline")
    assert result.exit_code == 2 and "f.conll:3: in the sentence starting here:" in result.output, result.output
    assert "reads as markup" in result.output and result.output.count("\n") == 1
    assert run("conll2003", "--input", str(tmp_path / "f.conll"), "--output", str(tmp_path / "o.jsonl")).exit_code == 0


def test_wrong_encoding_names_the_line(tmp_path):
    (tmp_path / "bad.conll").write_bytes(b"EU NNP B-NP B-ORG\n\nM\xfcller NNP B-NP B-PER\n")
    result = run("conll2003", "--input", str(tmp_path / "bad.conll"), "--output", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 2 and "bad.conll:3: expected utf-8 text" in result.output


def test_gmb_given_as_utf8_is_refused(tmp_path):
    (tmp_path / "g.csv").write_text("Sentence #,Word,POS,Tag\nSentence: 1,Müller,NNP,B-per\n", encoding="utf-8")
    result = run("gmb", "--input", str(tmp_path / "g.csv"), "--output", str(tmp_path / "o.jsonl"), "--split", "all")
    assert result.exit_code == 2 and "g.csv:2: expected Windows-1252/latin-1" in result.output


@pytest.mark.parametrize("rows, expected", [
    ("Sentence: 1,Paris,NNP,B-geo,extra\n", ":2: expected 4 columns"),
    ("Sentence: 1,Paris,NNP,B-xyz\n", ":2: in sentence 1: unknown tag 'B-xyz'"),
    ("Sentence: 1,Paris,NNP,I-geo\n", "continues no entity of type GEO"),
    (",Paris,NNP,O\n", ":2: expected the first row to start a sentence"),
])
def test_bad_gmb_rows(tmp_path, rows, expected):
    (tmp_path / "g.csv").write_bytes(("Sentence #,Word,POS,Tag\n" + rows).encode("cp1252"))
    result = run("gmb", "--input", str(tmp_path / "g.csv"), "--output", str(tmp_path / "o.jsonl"), "--split", "all")
    assert result.exit_code == 2 and expected in result.output, result.output


@pytest.mark.parametrize("record, expected", [
    ({"text": "菲律宾", "entities": [{"start_idx": 0, "end_idx": 9, "entity_label": "GPE"}]}, "outside the text"),
    ({"text": "菲律宾", "entities": [{"start_idx": 0, "end_idx": 3, "entity_label": "XX"}]}, "unknown label 'XX'"),
    ({"text": "菲律宾", "entities": [{"start_idx": 0, "end_idx": 2, "entity_label": "GPE",
                                  "entity_text": "菲律宾"}]}, "not entity_text"),
])
def test_bad_zh_ner_records(tmp_path, monkeypatch, record, expected):
    path = tmp_path / "z.jsonl"
    path.write_text(json.dumps({"text": "好", "entities": []}) + "\n" + json.dumps(record, ensure_ascii=False) + "\n")
    result = run("zh_ner", "--input", str(path), "--output", str(tmp_path / "o.jsonl"), "--split", "all")
    assert result.exit_code == 2 and "z.jsonl:2: " in result.output and expected in result.output, result.output


@pytest.mark.parametrize("entities, expected", [
    ([(0, 3, "GPE"), (0, 5, "ORG")], "entities 0-3 GPE and 0-5 ORG overlap"),  # nested
    ([(3, 5, "PER"), (0, 4, "ORG")], "entities 0-4 ORG and 3-5 PER overlap"),  # crossing, in any order
    ([(0, 3, "GPE"), (0, 3, "GPE")], "entities 0-3 GPE and 0-3 GPE overlap"),  # listed twice
])
def test_overlapping_zh_ner_entities_are_one_line_naming_the_record(tmp_path, entities, expected):
    record = {"text": "菲律宾总统", "entities": [{"start_idx": s, "end_idx": e, "entity_label": label}
                                                  for s, e, label in entities]}
    path = tmp_path / "z.jsonl"
    path.write_text(json.dumps({"text": "好", "entities": []}) + "\n" + json.dumps(record, ensure_ascii=False) + "\n")
    result = run("zh_ner", "--input", str(path), "--output", str(tmp_path / "o.jsonl"), "--split", "all")
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert f"{path}:2: {expected}; expected flat entities" in result.output


@pytest.mark.parametrize("dataset, content", [
    ("zh_ner", json.dumps({"text": "菲律宾总统", "entities": []}, ensure_ascii=False) + "\n"),
    ("gmb", "Sentence #,Word,POS,Tag\nSentence: 1,Paris,NNP,B-geo\n"),
])
def test_a_split_of_another_source_than_the_split_file_was_drawn_from_stops(tmp_path, dataset, content):
    """The split files hold positions (sentence numbers): on another source they would silently reshuffle splits."""
    path = tmp_path / "in.txt"
    path.write_bytes(content.encode("cp1252" if dataset == "gmb" else "utf-8"))
    result = run(dataset, "--input", str(path), "--output", str(tmp_path / "o.jsonl"), "--split", "test")
    fixed = json.loads((gmb if dataset == "gmb" else zh_ner).SPLIT_FILE.read_text())
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert f"{path}: expected the source {dataset}.json was drawn from ({fixed['sentences']} sentences, digest " \
           f"{fixed['digest'][:12]}); found 1 sentences" in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_all_names_every_expected_file_it_did_not_find(tmp_path):
    (tmp_path / "raw" / "conll2003").mkdir(parents=True)
    (tmp_path / "raw" / "conll2003" / "train.txt").write_text((FIXTURES / "five.conll").read_text())
    result = run("all", "--data-dir", str(tmp_path / "raw"), "--out-dir", str(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    missing = [line.removeprefix("not found, so not converted: ") for line in result.output.splitlines()
               if line.startswith("not found")]
    raw = tmp_path / "raw"
    assert f"{raw / 'conll2003' / 'valid.txt'} (or validation.parquet)" in missing
    assert f"{raw / 'conll2003' / 'test.txt'} (or test.parquet)" in missing
    assert f"{raw / 'zh_news' / 'class.txt'}" in missing and f"{raw / 'cmmlu' / 'test'}" in missing
    assert not any("conll2003/train.txt" in line for line in missing)
    assert json.loads((tmp_path / "data" / "counts.json").read_text()) == {"conll2003/train.jsonl": 5,
                                                                          "conll2003_inline/train.jsonl": 5}


def test_malformed_json_line(tmp_path):
    (tmp_path / "z.jsonl").write_text('{"text": "好", "entities": []}\n{"text": \n')
    result = run("zh_ner", "--input", str(tmp_path / "z.jsonl"), "--output", str(tmp_path / "o.jsonl"),
                 "--split", "all")
    assert result.exit_code == 2 and "z.jsonl:2: expected one JSON object per line" in result.output


def test_bad_input_through_the_real_command_prints_no_traceback(tmp_path):
    (tmp_path / "bad.conll").write_text("EU NNP B-NP B-FOO\n")
    process = subprocess.run([sys.executable, "-m", "llmner", "data", "convert", "conll2003", "--input",
                              str(tmp_path / "bad.conll"), "--output", str(tmp_path / "o.jsonl")],
                             capture_output=True, text=True, cwd=ROOT)
    assert process.returncode == 2
    assert process.stderr.strip().count("\n") == 0 and process.stderr.startswith("error: ")


def test_shot_pool_must_not_be_the_evaluated_file(tmp_path):
    path = tmp_path / "news.txt"
    path.write_text("标题一\t0\n标题二\t1\n")
    (tmp_path / "class.txt").write_text("finance\nrealty\n")
    result = run("zh_news", "--input", str(path), "--output", str(tmp_path / "o.jsonl"), "--shots", "1",
                 "--shot-pool", str(path))
    assert result.exit_code == 2 and "expected a shot pool other than the evaluated file" in result.output


def test_few_shot_prompt_holds_the_drawn_shots(tmp_path):
    (tmp_path / "class.txt").write_text("finance\nrealty\n")
    (tmp_path / "pool.txt").write_text("池一\t0\n池二\t1\n池三\t0\n")
    (tmp_path / "eval.txt").write_text("评一\t1\n")
    out = tmp_path / "o.jsonl"
    assert run("zh_news", "--input", str(tmp_path / "eval.txt"), "--output", str(out), "--shots", "2",
               "--shot-pool", str(tmp_path / "pool.txt")).exit_code == 0
    user = lines(out)[0]["messages"][1]["content"]
    assert user.count("Topic:") == 3 and user.endswith("Text: 评一\nTopic:")
    assert lines(out)[0]["messages"][2]["content"] == "realty"


def test_a_folder_of_subject_files_gives_every_question_its_own_source_id(tmp_path):
    """CMMLU is one file a subject, each numbering its rows from 0: the row index alone named 67 questions "0", and
    submission.csv had 67 rows "0,C", which no grader can match to questions. In a folder, the ID is the file's
    subject and the row's ID, as in the example's id; a single file keeps its own IDs."""
    folder = tmp_path / "test"
    folder.mkdir()
    for subject in ("agronomy", "anatomy"):
        (folder / f"{subject}.csv").write_text(",Question,A,B,C,D,Answer\n0,问题,甲,乙,丙,丁,C\n1,问,甲,乙,丙,丁,A\n",
                                               encoding="utf-8")
    assert run("cmmlu", "--input", str(folder), "--output", str(tmp_path / "m.jsonl")).exit_code == 0
    examples = lines(tmp_path / "m.jsonl")
    assert [e["gold"]["source_id"] for e in examples] == ["agronomy-0", "agronomy-1", "anatomy-0", "anatomy-1"]
    assert [e["id"].rsplit("/", 1)[1] for e in examples] == [e["gold"]["source_id"] for e in examples]


def test_mcq_both_layouts_and_missing_answers(tmp_path):
    (tmp_path / "a.csv").write_text(",Question,A,B,C,D,Answer\n0,问题,甲,乙,丙,丁,C\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("ID,Question,Option A,Option B,Option C,Option D\nq7,问题,甲,乙,丙,丁\n",
                                    encoding="utf-8")
    for name, answer, source_id in (("a", "C", "0"), ("b", None, "q7")):
        out = tmp_path / f"{name}.jsonl"
        assert run("cmmlu", "--input", str(tmp_path / f"{name}.csv"), "--output", str(out)).exit_code == 0
        example = lines(out)[0]
        assert example["gold"]["answer"] == answer and example["gold"]["source_id"] == source_id
        assert example["messages"][1]["content"] == "问题\nA. 甲\nB. 乙\nC. 丙\nD. 丁"
        assert [t["role"] for t in example["messages"]][-1] == ("assistant" if answer else "user")
    (tmp_path / "c.csv").write_text(",Question,A,B,C,D,Answer\n0,问题,甲,乙,丙,丁,E\n", encoding="utf-8")
    result = run("cmmlu", "--input", str(tmp_path / "c.csv"), "--output", str(tmp_path / "c.jsonl"))
    assert result.exit_code == 2 and "c.csv:2: expected an Answer A-D" in result.output


# --- the real files ------------------------------------------------------------------------------------------------

@pytest.mark.data
def test_real_counts(converted):
    counts = {path.relative_to(converted).as_posix(): sum(1 for _ in open(path)) for path in converted.rglob("*.jsonl")}
    assert {k: counts[k] for k in ("conll2003/train.jsonl", "conll2003/validation.jsonl", "conll2003/test.jsonl")} \
        == {"conll2003/train.jsonl": 14041, "conll2003/validation.jsonl": 3250, "conll2003/test.jsonl": 3453}
    assert sum(counts[f"gmb/{s}.jsonl"] for s in ("train", "validation", "test")) == 47959
    assert (counts["gmb/validation.jsonl"], counts["gmb/test.jsonl"]) == (4796, 4796)
    assert sum(counts[f"zh_ner/{s}.jsonl"] for s in ("train", "validation", "test")) == 15724
    assert (counts["wnut17/train.jsonl"], counts["wnut17/validation.jsonl"], counts["wnut17/test.jsonl"]) \
        == (3394, 1009, 1287)
    assert counts["ag_news/test.jsonl"] == 7600
    assert (counts["zh_news/train.jsonl"], counts["zh_news/validation.jsonl"], counts["zh_news/test.jsonl"]) \
        == (9500, 500, 10000)
    assert (counts["cmmlu/train.jsonl"], counts["cmmlu/test.jsonl"]) == (335, 11582)


@pytest.mark.data
def test_real_entity_counts(converted):
    def entities(dataset, splits):
        return sum(len(json.loads(line)["gold"]["entities"])
                   for s in splits for line in open(converted / dataset / f"{s}.jsonl"))

    assert entities("conll2003", ["test"]) == 5648 and entities("conll2003", ["train"]) == 23499
    assert entities("gmb", ["train", "validation", "test"]) == 111891
    assert entities("zh_ner", ["train", "validation", "test"]) == 12581


@pytest.mark.data
def test_split_files_are_the_seeded_split():
    for module, source in ((gmb, shared("gmb", "ner_dataset.csv")), (zh_ner, shared("zh_ner", "ccfbdci.jsonl"))):
        fixed = json.loads(module.SPLIT_FILE.read_text())
        assert fixed == module.make_split_file(source)  # the count and digest of ../shared/data's copy included
        assert not set(fixed["validation"]) & set(fixed["test"])


def test_seeded_split_ignores_input_order():
    keys = list(range(100))
    assert seeded_split(keys) == seeded_split(keys[::-1])
    assert len(seeded_split(keys)["test"]) == 10


@pytest.mark.data
def test_gmb_truncated_last_sentence_is_reported(tmp_path):
    result = run("gmb", "--input", str(shared("gmb", "ner_dataset.csv")), "--output", str(tmp_path / "t.jsonl"),
                 "--split", "test")
    assert result.exit_code == 0 and "known defect" in result.output and "last sentence is truncated" in result.output


@pytest.mark.data
def test_make_data_converts_everything(tmp_path):
    result = run("all", "--data-dir", str(shared()), "--out-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    counts = json.loads((tmp_path / "counts.json").read_text())
    assert counts["conll2003/test.jsonl"] == counts["conll2003_inline/test.jsonl"] == 3453 and len(counts) == 22


def test_fudan_news_records_become_examples_over_their_own_candidates(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"text": "文章一", "category": ["Space", "History"], "output": "History"},
                               ensure_ascii=False) + "\n"
                    + json.dumps({"text": "文章二", "category": "Art, Sports", "output": "Sports"}, ensure_ascii=False)
                    + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert run("fudan_news", "--input", str(path), "--output", str(out), "--split", "train").exit_code == 0
    first, second = lines(out)
    assert first["id"] == "fudan_news/train/0" and first["messages"][-1]["content"] == "History"
    assert first["gold"] == {"task": "classification", "label": "History", "labels": ["Space", "History"]}
    assert second["gold"]["labels"] == ["Art", "Sports"]


def test_fudan_news_output_outside_its_categories_is_refused(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps({"text": "文", "category": ["Art"], "output": "Space"}) + "\n")
    result = run("fudan_news", "--input", str(path), "--output", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 2 and "test.jsonl:1: expected 'output' to be one of" in result.output


# --- files as users really have them: a BOM, CRLF line ends, quoted line breaks --------------------------------------

AS_SAVED = {  # dataset command, extra arguments, {file name: content}
    "conll2003": ([], {"in.conll": "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
                                   "Peter NNP B-NP B-PER\n"}),
    "gmb": (["--split", "all"], {"in.csv": "Sentence #,Word,POS,Tag\nSentence: 1,Paris,NNP,B-geo\n,is,VBZ,O\n"}),
    "zh_ner": (["--split", "all"], {"in.jsonl": json.dumps({"text": "菲律宾总统", "entities": [
        {"start_idx": 0, "end_idx": 3, "entity_label": "GPE"}]}, ensure_ascii=False) + "\n"}),
    "fudan_news": ([], {"in.jsonl": json.dumps({"text": "新闻", "category": ["Space", "History"], "output": "History"})
                    + "\n"}),
    "ag_news": ([], {"in.csv": '"3","Fears for pension","Unions said"\n"2","Win","Team won"\n'}),
    "zh_news": ([], {"in.txt": "标题一\t0\n标题二\t1\n", "class.txt": "finance\nrealty\n"}),
    "cmmlu": ([], {"in.csv": "ID,Question,A,B,C,D,Answer\nq7,问,甲,乙,丙,丁,A\n"}),
}


def saved_as(content: str, bom: bool, crlf: bool, encoding: str = "utf-8") -> bytes:
    content = content.replace("\n", "\r\n") if crlf else content
    return (b"\xef\xbb\xbf" if bom else b"") + content.encode(encoding)


@pytest.mark.parametrize("dataset", sorted(AS_SAVED))
def test_a_bom_and_crlf_line_ends_read_like_a_plain_file(tmp_path, dataset):
    args, files = AS_SAVED[dataset]
    outputs = []
    for bom, crlf in ((False, False), (True, True)):
        folder = tmp_path / f"bom{bom}"
        folder.mkdir()
        for name, content in files.items():
            (folder / name).write_bytes(saved_as(content, bom, crlf))
        source = next(name for name in files if name.startswith("in."))
        result = run(dataset, "--input", str(folder / source), "--output", str(folder / "o.jsonl"), *args)
        assert result.exit_code == 0, result.output
        outputs.append(lines(folder / "o.jsonl"))
    assert outputs[0] == outputs[1] and outputs[0]


def test_a_bom_does_not_hide_the_first_sentence_label_or_column(tmp_path):
    (tmp_path / "in.conll").write_bytes(saved_as(AS_SAVED["conll2003"][1]["in.conll"], True, False))
    assert run("conll2003", "--input", str(tmp_path / "in.conll"), "--output", str(tmp_path / "c.jsonl")).exit_code == 0
    assert [e["gold"]["text"] for e in lines(tmp_path / "c.jsonl")] == ["EU rejects", "Peter"]
    (tmp_path / "in.csv").write_bytes(saved_as(AS_SAVED["cmmlu"][1]["in.csv"], True, False))
    assert run("cmmlu", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "m.jsonl")).exit_code == 0
    assert lines(tmp_path / "m.jsonl")[0]["gold"]["source_id"] == "q7"
    (tmp_path / "in.txt").write_text("标题一\t0\n", encoding="utf-8")
    (tmp_path / "class.txt").write_bytes(saved_as("finance\nrealty\n", True, True))
    assert run("zh_news", "--input", str(tmp_path / "in.txt"),
               "--output", str(tmp_path / "t.jsonl")).exit_code == 0
    assert lines(tmp_path / "t.jsonl")[0]["gold"]["labels"] == ["finance", "realty"]


def test_a_quoted_line_break_in_a_csv_field_is_kept(tmp_path):
    (tmp_path / "in.csv").write_text('"3","Title","line one\nline two"\n"2","Win","Team won"\n', encoding="utf-8")
    result = run("ag_news", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 0, result.output
    assert [e["gold"]["label"] for e in lines(tmp_path / "o.jsonl")] == ["Business", "Sports"]
    assert lines(tmp_path / "o.jsonl")[0]["messages"][1]["content"] == "Title\nline one\nline two"
