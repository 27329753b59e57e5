"""Fetch, tested without the internet: a Hub stand-in on 127.0.0.1 (tests/hub_standin.py, selected through HF_ENDPOINT)
serves files built from ../shared/data; what fetch-then-convert makes must equal what converting directly makes."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from converters import conll, hub_parquet, registry
from converters.cli import main
from core.tasks import ner_prompt
from tests.constants import FIXTURES, ROOT, shared

CONLL_NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]  # the Hub's order


def write_parquet(column_file: Path, out: Path, names: list[str]) -> None:
    """What the Hub's Parquet export holds for a column file: tokens and ClassLabel ids, names in the metadata."""
    import datasets

    sentences = [(tokens, tags) for _, tokens, tags in conll.read_conll(column_file)]
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names))})
    out.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict({"tokens": [t for t, _ in sentences],
                                "ner_tags": [[names.index(tag) for tag in tags] for _, tags in sentences]},
                               features=features).to_parquet(str(out))


def hub_path(root: Path, source: registry.HubFile) -> Path:
    return root / f"{source.repo_type}s" / source.repo_id / source.revision / source.path


@pytest.fixture
def standin(tmp_path, monkeypatch):
    """Start the stand-in on a free port; yields (root folder to fill, endpoint). Stopped by PID."""
    from huggingface_hub import constants

    root = tmp_path / "hub"
    root.mkdir()
    port_file = tmp_path / "port"
    process = subprocess.Popen([sys.executable, "-m", "tests.hub_standin", str(root), str(port_file), "120"], cwd=ROOT)
    try:
        for _ in range(100):  # bounded wait for the port
            if port_file.exists() and port_file.read_text():
                break
            time.sleep(0.05)
        endpoint = f"http://127.0.0.1:{port_file.read_text()}"
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
        yield root, endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(*args):
    return CliRunner().invoke(main, list(args))


def lines(path):
    return Path(path).read_text(encoding="utf-8").splitlines()


def test_parquet_rows_convert_like_the_column_file(tmp_path):
    write_parquet(FIXTURES / "five.conll", tmp_path / "five.parquet", CONLL_NAMES)
    prompt = ner_prompt("conll2003")
    columns = list(conll.convert_file(FIXTURES / "five.conll", prompt, "test"))
    for example in columns:  # the Hub's rows have lost -DOCSTART-: only the column file knows the documents
        assert example["gold"].pop("document") == 0
    assert list(hub_parquet.convert_file(tmp_path / "five.parquet", prompt, "test")) == columns


def test_parquet_without_tag_names_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"tokens": [["EU"]], "ner_tags": [[0]]}), tmp_path / "bare.parquet")
    result = run("conll2003", "--input", str(tmp_path / "bare.parquet"), "--output", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 2 and "bare.parquet: expected Hugging Face Parquet with ner_tags" in result.output


def test_fetch_then_convert_equals_direct_conversion(standin, tmp_path):
    root, _ = standin
    for source in registry.REGISTRY["conll2003"].sources:
        write_parquet(FIXTURES / "five.conll", hub_path(root, source), CONLL_NAMES)
    result = run("fetch", "conll2003", "--data-dir", str(tmp_path / "raw"), "--out-dir", str(tmp_path / "data"),
                 "--record-checksums")
    assert result.exit_code == 0, result.output
    direct = tmp_path / "direct.jsonl"
    assert run("conll2003", "--input", str(FIXTURES / "five.conll"), "--output", str(direct)).exit_code == 0
    documented = [json.loads(line) for line in lines(direct)]
    for example in documented:  # the Hub's rows have lost -DOCSTART-: only the column file knows the documents
        del example["gold"]["document"]
    assert [json.loads(line) for line in lines(tmp_path / "data" / "conll2003" / "test.jsonl")] == documented
    # No checksum is known offline for the Hub's Parquet export: the first fetch prints it, to be recorded.
    assert result.output.count("# recorded on first fetch") == 3
    # Fetched once: a second fetch verifies the files in place and downloads nothing.
    assert run("fetch", "conll2003", "--data-dir", str(tmp_path / "raw"), "--no-convert").exit_code == 0


def test_known_checksums_are_verified_and_a_changed_file_is_refused(standin, tmp_path, monkeypatch):
    root, endpoint = standin
    folder = shared("zh_news")
    (root / "raw").mkdir()
    sources = []
    for source in registry.REGISTRY["zh_news"].sources:
        shutil.copyfile(folder / source.save_as, root / "raw" / source.save_as)
        sources.append(dataclasses.replace(source, url=f"{endpoint}/raw/{source.save_as}"))
    entry = dataclasses.replace(registry.REGISTRY["zh_news"], sources=tuple(sources))
    monkeypatch.setitem(registry.REGISTRY, "zh_news", entry)
    assert run("fetch", "zh_news", "--data-dir", str(tmp_path / "raw"), "--no-convert").exit_code == 0
    assert (tmp_path / "raw" / "zh_news" / "dev.txt").read_bytes() == (folder / "dev.txt").read_bytes()
    (tmp_path / "raw" / "zh_news" / "test.txt").write_text("changed\t0\n")
    result = run("fetch", "zh_news", "--data-dir", str(tmp_path / "raw"), "--no-convert")
    assert result.exit_code == 1 and "test.txt: sha256" in result.output and "is not the pinned ebecc8c8" in result.output


def test_an_interrupted_url_download_resumes(standin, tmp_path):
    import hashlib

    from converters import fetch
    from huggingface_hub import constants

    root, endpoint = standin
    (root / "raw").mkdir()
    data = (FIXTURES / "five.conll").read_bytes()
    (root / "raw" / "five.conll").write_bytes(data)
    source = registry.UrlFile(f"{endpoint}/raw/five.conll", None, "five.conll")
    folder = Path(constants.HF_HUB_CACHE) / "urls" / hashlib.sha256(source.url.encode()).hexdigest()
    folder.mkdir(parents=True)
    (folder / "five.conll.incomplete").write_bytes(data[:50])  # what an interrupted download left
    assert fetch.download_url(source).read_bytes() == data


def test_offline_download_ends_in_one_line_saying_what_to_do(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    result = run("fetch", "zh_ner", "--data-dir", str(tmp_path / "raw"), "--out-dir", str(tmp_path / "data"))
    assert result.exit_code == 1
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "could not download http://127.0.0.1:9/datasets/qgyd2021/chinese_ner_sft/resolve/" \
        in error[0] and "put the file at" in error[0] and "Traceback" not in result.output


def test_gmb_prints_the_exact_kaggle_command(tmp_path):
    result = run("fetch", "gmb", "--data-dir", str(tmp_path / "raw"))
    assert result.exit_code == 1
    assert (f"kaggle datasets download abhinavwalia95/entity-annotated-corpus -f ner_dataset.csv -p "
            f"{tmp_path / 'raw' / 'gmb'}") in result.output and "then run this again" in result.output


def test_unknown_dataset_name_is_refused():
    result = run("fetch", "nope")
    assert result.exit_code == 2 and "expected dataset names" in result.output


@pytest.mark.slow
def test_every_hub_dataset_fetched_from_the_standin_converts_like_shared_data(standin, tmp_path, converted):
    """The real files, through the real command in its own process, selected only by HF_ENDPOINT."""
    root, endpoint = standin
    names = {"conll2003": (("train", "train.txt"), ("validation", "valid.txt"), ("test", "test.txt")),
             "wnut17": (("train", "wnut17train.conll"), ("validation", "emerging.dev.conll"),
                        ("test", "emerging.test.annotated"))}
    for name, files in names.items():
        tags = sorted({tag for _, _, ts in conll.read_conll(shared(name, files[0][1])) for tag in ts})
        for (split, file), source in zip(files, registry.REGISTRY[name].sources):
            write_parquet(shared(name, file), hub_path(root, source), tags)
    ccfbdci = hub_path(root, registry.REGISTRY["zh_ner"].sources[0])
    ccfbdci.parent.mkdir(parents=True)
    shutil.copyfile(shared("zh_ner", "ccfbdci.jsonl"), ccfbdci)
    archive = hub_path(root, registry.REGISTRY["cmmlu"].sources[0])
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as members:
        for csv in sorted(shared("cmmlu").rglob("*.csv")):
            members.write(csv, csv.relative_to(shared("cmmlu")).as_posix())
    env = {**os.environ, "HF_ENDPOINT": endpoint, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf")}
    process = subprocess.run([sys.executable, "-m", "converters", "fetch", "conll2003", "wnut17", "zh_ner", "cmmlu",
                              "--data-dir", str(tmp_path / "raw"), "--out-dir", str(tmp_path / "data")],
                             capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert process.returncode == 0, process.stderr[-2000:]
    counts = json.loads((tmp_path / "data" / "counts.json").read_text())
    assert len(counts) == 11
    for target in counts:
        assert (tmp_path / "data" / target).read_bytes() == (converted / target).read_bytes(), target
