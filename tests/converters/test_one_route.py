"""One route per conversion: every file `llmner data convert-all` writes is, byte for byte, what `llmner data convert
<dataset>` writes from the same raw file (the registry entry decides the reader, the split and the shots, once)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmner.converters.registry import FEW_SHOT, REGISTRY
from tests.cli import llmner
from tests.constants import FIXTURES, ROOT, SHARED_DATA, shared

# gmb and zh_ner need the very source their split files were drawn from (../shared/data's copy): the data test has them.
PINNED_SOURCE = {"gmb", "zh_ner"}


def command_of(target: str, raw: Path) -> list[str]:
    """The `llmner data convert` words a user types for one file convert-all wrote (`<dataset>/<split>.jsonl`, the
    few-shot variant `<dataset>/<split>_5shot.jsonl`, its shots drawn from the training file, or the split in another
    answer format, `<dataset>_<format>/<split>.jsonl`)."""
    folder_name, stem = target.removesuffix(".jsonl").split("/")
    name, answer_format = (folder_name, None) if folder_name in REGISTRY else folder_name.rsplit("_", 1)
    split = stem.removesuffix(f"_{FEW_SHOT}shot")
    entry, folder = REGISTRY[name], raw / name
    words = [name, "--input", str(entry.present(folder, split) or entry.present(folder, "all")), "--split", split]
    if answer_format:
        words += ["--answer-format", answer_format]
    if stem != split:
        words += ["--shots", str(FEW_SHOT), "--shot-pool", str(entry.present(folder, "train"))]
    return words


def both_ways(raw: Path, out: Path) -> dict[str, int]:
    """Convert `raw` with convert-all, then each of its files again with `convert <dataset>`; check that the two
    agree byte for byte and return the counts convert-all wrote."""
    result = llmner("data", "convert-all", "--data-dir", raw, "--out-dir", out / "all")
    assert result.exit_code == 0, result.output
    counts = json.loads((out / "all" / "counts.json").read_text())
    for target in counts:
        one = out / "one" / target
        result = llmner("data", "convert", *command_of(target, raw), "--output", one)
        assert result.exit_code == 0, (target, result.output)
        assert one.read_bytes() == (out / "all" / target).read_bytes(), target
    return counts


def write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def small_sources(raw: Path) -> None:
    """A few raw records of every dataset that needs no pinned source, laid out as ../shared/data and fetch do."""
    five = (FIXTURES / "five.conll").read_text(encoding="utf-8")
    for name in ("train.txt", "valid.txt", "test.txt"):
        write(raw / "conll2003" / name, five)
    write(raw / "wnut17" / "wnut17train.conll",
          (ROOT / "samples" / "wnut17" / "train.conll").read_text(encoding="utf-8")[:3000].rsplit("\n\n", 1)[0])
    write(raw / "wnut17" / "emerging.test.annotated",
          (ROOT / "samples" / "wnut17" / "test_sample.conll").read_text(encoding="utf-8"))
    write(raw / "ag_news" / "train.csv", "".join(f'"{i % 4 + 1}","Title {i}","Text {i}"\n' for i in range(12)))
    write(raw / "ag_news" / "test.csv", '"3","Fears for pension","Unions said"\n"2","Win","Team won"\n')
    write(raw / "zh_news" / "class.txt", "finance\nrealty\nstocks\n")
    write(raw / "zh_news" / "dev.txt", "".join(f"标题{i}\t{i % 3}\n" for i in range(60)))
    write(raw / "zh_news" / "test.txt", "".join(f"新闻{i}\t{i % 3}\n" for i in range(7)))
    for split in ("train", "test"):
        write(raw / "fudan_news" / f"{split}.jsonl", "".join(json.dumps(
            {"text": f"文章{i}", "category": ["Space", "History"], "output": "History"}, ensure_ascii=False) + "\n"
            for i in range(3)))
    for folder in ("dev", "test"):
        for subject in ("agronomy", "anatomy"):
            write(raw / "cmmlu" / folder / f"{subject}.csv",
                  ",Question,A,B,C,D,Answer\n0,问一,甲,乙,丙,丁,A\n1,问二,甲,乙,丙,丁,C\n")


def test_convert_and_convert_all_agree_on_every_dataset(tmp_path):
    small_sources(tmp_path / "raw")
    counts = both_ways(tmp_path / "raw", tmp_path / "out")
    assert {target.split("/")[0] for target in counts} == set(REGISTRY) - PINNED_SOURCE | {"conll2003_inline"}
    # the held-out draw and the few-shot variant are among what was compared
    assert counts["zh_news/train.jsonl"] + counts["zh_news/validation.jsonl"] == 60
    assert counts["zh_news/validation.jsonl"] == 3 and counts[f"zh_news/test_{FEW_SHOT}shot.jsonl"] == 7


@pytest.mark.data
def test_convert_and_convert_all_agree_on_the_real_data(tmp_path):
    shared()
    counts = both_ways(SHARED_DATA, tmp_path)
    assert PINNED_SOURCE <= {target.split("/")[0] for target in counts}, counts
    assert counts["gmb/test.jsonl"] == 4796 and counts["zh_news/train.jsonl"] == 9500
