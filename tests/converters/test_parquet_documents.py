"""The Hub's Parquet copy of CoNLL-2003 dropped the `-DOCSTART-` lines: the documents are put back from the pin where
the split is the pinned one, and said to be missing, loudly, where they cannot be (the scorer then resamples single
sentences, whose intervals are too narrow when errors cluster by document)."""

from __future__ import annotations

import json

import pytest

from llmner.converters import conll, registry
from llmner.core.io import write_jsonl
from llmner.core.tasks import ner_prompt
from tests.cli import llmner
from tests.constants import FIXTURES, shared
from tests.converters.test_fetch import CONLL_NAMES, write_parquet


@pytest.mark.data
@pytest.mark.parametrize("split, column_file", [("test", "test.txt"), ("validation", "valid.txt")])
def test_the_pinned_parquet_split_gets_its_documents_back(split, column_file, tmp_path):
    source = shared("conll2003", column_file)
    folder = tmp_path / "conll2003"
    write_parquet(source, folder / f"{split}.parquet", CONLL_NAMES)  # what the Hub's export holds: no -DOCSTART-
    entry = registry.REGISTRY["conll2003"]
    [(target, make_examples)] = [step for step in entry.targets(folder) if step[0] == f"conll2003/{split}.jsonl"]
    from_parquet = list(make_examples())
    from_columns = list(conll.convert_file(source, ner_prompt("conll2003"), split))
    assert from_parquet == from_columns and "document" in from_parquet[-1]["gold"]
    # and through the one-file command as well
    result = llmner("data", "convert", "conll2003", "--input", folder / f"{split}.parquet", "--split", split,
                    "--output", tmp_path / "out.jsonl")
    assert result.exit_code == 0 and "warning" not in result.output, result.output
    assert [json.loads(line) for line in open(tmp_path / "out.jsonl", encoding="utf-8")] == from_columns


def test_a_parquet_split_whose_documents_are_unknown_says_so(tmp_path):
    write_parquet(FIXTURES / "five.conll", tmp_path / "test.parquet", CONLL_NAMES)  # not the pinned 3,453 sentences
    result = llmner("data", "convert", "conll2003", "--input", tmp_path / "test.parquet", "--output",
                    tmp_path / "test.jsonl")
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "no documents" in result.stderr and "sentence" in result.stderr
    examples = [json.loads(line) for line in open(tmp_path / "test.jsonl", encoding="utf-8")]
    assert len(examples) == 5 and not any("document" in e["gold"] for e in examples)
    # and the scorer, given these examples, says that it falls back to resampling sentences
    write_jsonl(tmp_path / "pred.jsonl", [{"id": e["id"], "output": "none"} for e in examples])
    score = llmner("score", "--data", tmp_path / "test.jsonl", "--pred", tmp_path / "pred.jsonl", "--json",
                   tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text())
    missing = [line for line in report["warnings"] if "no gold.document" in line]
    assert len(missing) == 1 and "single sentences" in missing[0] and f"warning: {missing[0]}" in score.stderr
    assert report["bootstrap"]["cluster"] == "example"
    with_documents = llmner("score", "--data", tmp_path / "test.jsonl", "--pred", tmp_path / "pred.jsonl",
                            "--cluster", "example")  # asked for: no warning
    assert "no gold.document" not in with_documents.stderr
    compared = llmner("compare", "--data", tmp_path / "test.jsonl", "--pred", tmp_path / "pred.jsonl", "--pred",
                      tmp_path / "pred.jsonl", "--resamples", 200, "--json", tmp_path / "c.json")
    assert any("no gold.document" in line for line in json.loads((tmp_path / "c.json").read_text())["warnings"])
    assert "no gold.document" in compared.stderr
