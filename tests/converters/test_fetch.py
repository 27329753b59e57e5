"""Fetch, tested without the internet: a Hub stand-in on 127.0.0.1 (tests/hub_standin.py, selected through HF_ENDPOINT)
serves files built from ../shared/data; what fetch-then-convert makes must equal what converting directly makes."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import quote
from urllib.request import Request, urlopen

import pytest

from llmner.converters import conll, hub_parquet, registry
from llmner.core.tasks import ner_prompt
from tests.cli import llmner
from tests.constants import FIXTURES, ROOT, shared
from tests.hub_standin import running

CONLL_NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]  # the Hub's order


def write_parquet(column_file: Path, out: Path, names: list[str], feature_type: str = "Sequence") -> None:
    """What the Hub's Parquet export holds for a column file: tokens and ClassLabel ids, names in the metadata.

    The export was written by an older `datasets`, whose metadata types a list feature `Sequence` (with `length` and
    `id`); `datasets` 4 writes `List`. Both are written here by hand, as they are on the Hub."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sentences = [(tokens, tags) for _, tokens, tags, _ in conll.read_documented(column_file)]
    extra = {"length": -1, "id": None} if feature_type == "Sequence" else {}
    features = {"tokens": {"feature": {"dtype": "string", "_type": "Value"}, **extra, "_type": feature_type},
                "ner_tags": {"feature": {"names": names, "_type": "ClassLabel"}, **extra, "_type": feature_type}}
    table = pa.table({"tokens": [t for t, _ in sentences],
                      "ner_tags": [[names.index(tag) for tag in tags] for _, tags in sentences]})
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})}), out)


def hub_path(root: Path, source: registry.HubFile) -> Path:
    """Where the stand-in serves a Hub file: its revision folder is named as `hf_hub_url` quotes the revision."""
    return root / f"{source.repo_type}s" / source.repo_id / quote(source.revision, safe="") / source.path


def pinned_to(entry: registry.Dataset, column_file: Path) -> registry.Dataset:
    """`entry` with its content pin moved to what `column_file` converts to in each split (a stand-in's files)."""
    prompt = ner_prompt(entry.name)
    return dataclasses.replace(entry, digest={split: registry.content_digest(conll.convert_file(column_file, prompt,
                                                                                               split))
                                              for split in entry.files})


@pytest.fixture
def standin(tmp_path, monkeypatch):
    """Start the stand-in on a free port; yields (root folder to fill, endpoint). Stopped by PID."""
    from huggingface_hub import constants

    root = tmp_path / "hub"
    root.mkdir()
    with running(root, tmp_path / "port", 120) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
        yield root, endpoint


def run(*args):
    """`llmner data ARGS...`"""
    return llmner("data", *args)


def not_fetched(output: str) -> list[str]:
    """The reasons `fetch` gave, one line per dataset it could not fetch."""
    return [line.removeprefix("not fetched: ") for line in output.splitlines() if line.startswith("not fetched: ")]


def lines(path):
    return Path(path).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("feature_type", ["Sequence", "List"])  # the Hub's older datasets, and datasets 4
def test_parquet_rows_convert_like_the_column_file(tmp_path, feature_type):
    write_parquet(FIXTURES / "five.conll", tmp_path / "five.parquet", CONLL_NAMES, feature_type)
    prompt = ner_prompt("conll2003")
    columns = list(conll.convert_file(FIXTURES / "five.conll", prompt, "test"))
    for example in columns:  # the Hub's rows have lost -DOCSTART-: only the column file knows the documents
        assert example["gold"].pop("document") == 0
    assert list(hub_parquet.convert_file(tmp_path / "five.parquet", prompt, "test")) == columns


def test_parquet_without_tag_names_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"tokens": [["EU"]], "ner_tags": [[0]]}), tmp_path / "bare.parquet")
    result = run("convert", "conll2003", "--input", str(tmp_path / "bare.parquet"),
                 "--output", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 2 and "bare.parquet: expected Hugging Face Parquet with ner_tags" in result.output


def test_fetch_then_convert_equals_direct_conversion(standin, tmp_path, monkeypatch):
    root, _ = standin
    for source in registry.REGISTRY["conll2003"].sources:
        write_parquet(FIXTURES / "five.conll", hub_path(root, source), CONLL_NAMES)
    monkeypatch.setitem(registry.REGISTRY, "conll2003",
                        pinned_to(registry.REGISTRY["conll2003"], FIXTURES / "five.conll"))
    result = run("fetch", "--dataset", "conll2003", "--data-dir", str(tmp_path / "raw"), "--out-dir",
                 str(tmp_path / "data"), "--record-checksums")
    assert result.exit_code == 0, result.output
    direct = tmp_path / "direct.jsonl"
    assert run("convert", "conll2003", "--input", str(FIXTURES / "five.conll"), "--output", str(direct)).exit_code == 0
    documented = [json.loads(line) for line in lines(direct)]
    for example in documented:  # the Hub's rows have lost -DOCSTART-: only the column file knows the documents
        del example["gold"]["document"]
    assert [json.loads(line) for line in lines(tmp_path / "data" / "conll2003" / "test.jsonl")] == documented
    # No checksum is known offline for the Hub's Parquet export: the first fetch prints it, to be recorded.
    assert result.output.count("# recorded on first fetch") == 3
    # Fetched once: a second fetch verifies the files in place and downloads nothing.
    assert run("fetch", "--dataset", "conll2003", "--data-dir", str(tmp_path / "raw"), "--no-convert").exit_code == 0


@pytest.mark.data
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
    assert run("fetch", "--dataset", "zh_news", "--data-dir", str(tmp_path / "raw"), "--no-convert").exit_code == 0
    assert (tmp_path / "raw" / "zh_news" / "dev.txt").read_bytes() == (folder / "dev.txt").read_bytes()
    (tmp_path / "raw" / "zh_news" / "test.txt").write_text("changed\t0\n")
    result = run("fetch", "--dataset", "zh_news", "--data-dir", str(tmp_path / "raw"), "--no-convert")
    assert (result.exit_code == 2 and "test.txt: sha256" in result.output
            and "is not the pinned ebecc8c8" in result.output)


def test_an_interrupted_url_download_resumes(standin, tmp_path):
    import hashlib

    from huggingface_hub import constants

    from llmner.converters import fetch

    root, endpoint = standin
    (root / "raw").mkdir()
    data = (FIXTURES / "five.conll").read_bytes()
    (root / "raw" / "five.conll").write_bytes(data)
    source = registry.UrlFile(url=f"{endpoint}/raw/five.conll", sha256=None, save_as="five.conll")
    folder = Path(constants.HF_HUB_CACHE) / "urls" / hashlib.sha256(source.url.encode()).hexdigest()
    folder.mkdir(parents=True)
    (folder / "five.conll.incomplete").write_bytes(data[:50])  # what an interrupted download left
    assert fetch.download_url(source).read_bytes() == data


def test_offline_download_ends_in_one_line_saying_what_to_do(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    result = run("fetch", "--dataset", "zh_ner", "--data-dir", str(tmp_path / "raw"), "--out-dir",
                 str(tmp_path / "data"))
    assert result.exit_code == 2
    reasons = not_fetched(result.output)
    assert len(reasons) == 1 and "could not download http://127.0.0.1:9/datasets/qgyd2021/chinese_ner_sft/resolve/" \
        in reasons[0] and "put the file at" in reasons[0] and "Traceback" not in result.output
    # the root's one error line ends the run, naming what was not fetched
    assert result.stderr.splitlines()[-1] == f"error: {tmp_path / 'raw'}: expected zh_ner fetched (the reason is above)"


def test_gmb_prints_the_exact_kaggle_command_and_where_its_file_lands(tmp_path):
    result = run("fetch", "--dataset", "gmb", "--data-dir", str(tmp_path / "raw"))
    folder = tmp_path / "raw" / "gmb"
    assert result.exit_code == 2
    # The Kaggle CLI ignores --unzip together with -f: the file lands zipped, and the message says so.
    assert (f"`kaggle datasets download abhinavwalia95/entity-annotated-corpus -f ner_dataset.csv -p {folder}`, "
            f"which puts ner_dataset.csv.zip at {folder / 'ner_dataset.csv.zip'}; then run this again") in result.output


GMB_ROWS = "Sentence #,Word,POS,Tag\r\nSentence: 1,Paris,NNP,B-geo\r\n,is,VBZ,O\r\n".encode("cp1252")


def zip_holding(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_the_zip_the_kaggle_command_leaves_is_unpacked_and_verified(tmp_path, monkeypatch):
    import hashlib

    folder = tmp_path / "raw" / "gmb"
    zip_holding(folder / "ner_dataset.csv.zip", {"ner_dataset.csv": GMB_ROWS})
    result = run("fetch", "--dataset", "gmb", "--data-dir", str(tmp_path / "raw"), "--no-convert")  # the pin: refused
    assert result.exit_code == 2 and "ner_dataset.csv.zip: its ner_dataset.csv has sha256" in result.output \
        and "not the pinned 83257dd9" in result.output, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["ner_dataset.csv.zip"]  # nothing unverified left in place
    source = dataclasses.replace(registry.REGISTRY["gmb"].sources[0], sha256=hashlib.sha256(GMB_ROWS).hexdigest())
    monkeypatch.setitem(registry.REGISTRY, "gmb", dataclasses.replace(registry.REGISTRY["gmb"], sources=(source,)))
    result = run("fetch", "--dataset", "gmb", "--data-dir", str(tmp_path / "raw"), "--no-convert")
    assert result.exit_code == 0, result.output
    assert (folder / "ner_dataset.csv").read_bytes() == GMB_ROWS


def test_a_present_archive_whose_folders_are_missing_is_unpacked(tmp_path, monkeypatch):
    from llmner.converters.fetch import sha256_of

    folder = tmp_path / "raw" / "cmmlu"
    archive = zip_holding(folder / "cmmlu_v1_0_1.zip",
                          {"dev/agronomy.csv": ",Question,A,B,C,D,Answer\n0,问,甲,乙,丙,丁,A\n",
                           "test/agronomy.csv": ",Question,A,B,C,D,Answer\n0,题,甲,乙,丙,丁,B\n"})
    source = dataclasses.replace(registry.REGISTRY["cmmlu"].sources[0], sha256=sha256_of(archive))
    monkeypatch.setitem(registry.REGISTRY, "cmmlu", dataclasses.replace(registry.REGISTRY["cmmlu"], sources=(source,)))
    result = run("fetch", "--dataset", "cmmlu", "--data-dir", str(tmp_path / "raw"), "--out-dir",
                 str(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    assert (folder / "dev" / "agronomy.csv").exists() and lines(tmp_path / "data" / "cmmlu" / "test.jsonl")


def test_a_hub_archive_is_fetched_verified_and_unpacked(standin, tmp_path, monkeypatch):
    from llmner.converters.fetch import sha256_of

    root, _ = standin
    pinned = registry.REGISTRY["cmmlu"].sources[0]
    archive = zip_holding(hub_path(root, pinned), {"dev/a.csv": ",Question,A,B,C,D,Answer\n0,问,甲,乙,丙,丁,A\n",
                                                   "test/a.csv": ",Question,A,B,C,D,Answer\n0,题,甲,乙,丙,丁,B\n"})
    # This zip is not the pinned Git LFS object: refused, and nothing is put in place.
    result = run("fetch", "--dataset", "cmmlu", "--data-dir", str(tmp_path / "raw"), "--no-convert")
    assert result.exit_code == 2 and f"sha256 {sha256_of(archive)} is not the pinned {pinned.sha256}" in result.output
    assert not (tmp_path / "raw" / "cmmlu").exists()
    source = dataclasses.replace(pinned, sha256=sha256_of(archive))
    monkeypatch.setitem(registry.REGISTRY, "cmmlu", dataclasses.replace(registry.REGISTRY["cmmlu"], sources=(source,)))
    result = run("fetch", "--dataset", "cmmlu", "--data-dir", str(tmp_path / "raw"), "--out-dir",
                 str(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["gold"]["answer"] for line in lines(tmp_path / "data" / "cmmlu" / "test.jsonl")] == ["B"]


def test_a_fetched_source_that_converts_otherwise_than_its_pin_is_refused(standin, tmp_path):
    """CoNLL-2003's Parquet export has no commit or checksum known offline: the examples it converts to are pinned."""
    root, _ = standin
    for source in registry.REGISTRY["conll2003"].sources:
        write_parquet(FIXTURES / "five.conll", hub_path(root, source), CONLL_NAMES)  # not the pinned 14,041 ...
    result = run("fetch", "--dataset", "conll2003", "--data-dir", str(tmp_path / "raw"), "--out-dir",
                 str(tmp_path / "data"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    reasons = not_fetched(result.output)
    assert len(reasons) == 1 and f"{tmp_path / 'raw' / 'conll2003' / 'train.parquet'}: converts to 5 " \
        "conll2003/train.jsonl examples" in reasons[0] and "not the pinned 14041" in reasons[0], result.output
    assert not (tmp_path / "data").exists()


def test_a_file_pinned_by_its_git_blob_is_refused_when_changed(tmp_path):
    folder = tmp_path / "raw" / "ag_news"
    folder.mkdir(parents=True)
    (folder / "train.csv").write_text('"3","Title","Text"\n')  # train.csv's sha256 is not known offline; its blob is
    result = run("fetch", "--dataset", "ag_news", "--data-dir", str(tmp_path / "raw"), "--no-convert")
    assert result.exit_code == 2 and "train.csv: git blob" in result.output \
        and "is not the pinned 694aa19971315410e000404523796b76349d3c1d" in result.output, result.output


@pytest.mark.data
def test_the_pinned_git_blob_is_the_shared_copys():
    from llmner.converters.fetch import git_blob_of

    test_csv = next(s for s in registry.REGISTRY["ag_news"].sources if s.save_as == "test.csv")
    assert git_blob_of(shared("ag_news", "test.csv")) == test_csv.git_blob


def test_the_standin_refuses_an_unencoded_revision(standin):
    root, endpoint = standin
    source = registry.REGISTRY["conll2003"].sources[2]
    write_parquet(FIXTURES / "five.conll", hub_path(root, source), CONLL_NAMES)
    base = f"{endpoint}/datasets/{source.repo_id}/resolve"
    assert urlopen(Request(f"{base}/{quote(source.revision, safe='')}/{source.path}", method="HEAD")).status == 200
    with pytest.raises(HTTPError) as refused:
        urlopen(Request(f"{base}/{source.revision}/{source.path}", method="HEAD"))
    assert refused.value.code == 404


def test_the_printed_url_is_the_one_requested(tmp_path, monkeypatch):
    from huggingface_hub import constants, hf_hub_url

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    source = registry.REGISTRY["conll2003"].sources[0]
    result = run("fetch", "--dataset", "conll2003", "--data-dir", str(tmp_path / "raw"), "--no-convert")
    requested = hf_hub_url(source.repo_id, source.path, repo_type="dataset", revision=source.revision,
                           endpoint="http://127.0.0.1:9")
    assert "/resolve/refs%2Fconvert%2Fparquet/" in requested and f"could not download {requested} (" in result.output


def test_every_source_is_pinned_but_the_one_that_cannot_be_offline():
    """By a sha256, a git blob id, a Hub commit, or the dataset's content digest; fudan_news (ModelScope, master)
    has none known offline and is confirmed with --record-checksums on a first fetch."""
    def pinned(entry, source):
        commit = isinstance(source, registry.HubFile) and len(source.revision) == 40 and \
            all(c in "0123456789abcdef" for c in source.revision)
        return bool(source.sha256 or getattr(source, "git_blob", None) or entry.digest or commit)

    unpinned = {entry.name for entry in registry.REGISTRY.values()
                if not all(pinned(entry, source) for source in entry.sources)}
    assert unpinned == {"fudan_news"}


def test_one_dataset_that_cannot_be_fetched_does_not_stop_the_others(monkeypatch, tmp_path):
    """GMB behind its Kaggle login: the other named datasets are still fetched, then the root's one error line."""
    from llmner.converters import fetch

    def fetch_dataset(entry, data_dir):
        tried.append(entry.name)
        if entry.name != "ag_news":
            raise fetch.FetchError(f"{entry.name}: no way")
        return []

    tried = []
    monkeypatch.setattr(fetch, "fetch_dataset", fetch_dataset)
    result = run("fetch", "--dataset", "gmb", "--dataset", "ag_news", "--dataset", "cmmlu", "--data-dir",
                 str(tmp_path / "raw"), "--no-convert")
    assert result.exit_code == 2 and tried == ["gmb", "ag_news", "cmmlu"]
    assert not_fetched(result.output) == ["gmb: no way", "cmmlu: no way"]
    assert result.stderr.splitlines()[-1] == f"error: {tmp_path / 'raw'}: expected gmb, cmmlu fetched (the reason is " \
                                             "above)"


def test_no_dataset_named_fetches_every_one(monkeypatch, tmp_path):
    from llmner.converters import cli, fetch

    tried = []
    monkeypatch.setattr(fetch, "fetch_dataset", lambda entry, data_dir: tried.append(entry.name) or [])
    assert run("fetch", "--data-dir", str(tmp_path / "raw"), "--no-convert").exit_code == 0
    assert tried == list(cli.REGISTRY)


def test_unknown_dataset_name_is_refused():
    result = run("fetch", "--dataset", "nope")
    assert result.exit_code == 2 and "expected dataset names" in result.output


@pytest.mark.data
@pytest.mark.server
def test_every_hub_dataset_fetched_from_the_standin_converts_like_shared_data(standin, tmp_path, converted):
    """The real files, through the real command in its own process, selected only by HF_ENDPOINT."""
    root, endpoint = standin
    names = {"conll2003": (("train", "train.txt"), ("validation", "valid.txt"), ("test", "test.txt")),
             "wnut17": (("train", "wnut17train.conll"), ("validation", "emerging.dev.conll"),
                        ("test", "emerging.test.annotated"))}
    for name, files in names.items():
        tags = sorted({tag for _, _, ts, _ in conll.read_documented(shared(name, files[0][1])) for tag in ts})
        for (_split, file), source in zip(files, registry.REGISTRY[name].sources):
            write_parquet(shared(name, file), hub_path(root, source), tags)
    ccfbdci = hub_path(root, registry.REGISTRY["zh_ner"].sources[0])
    ccfbdci.parent.mkdir(parents=True)
    shutil.copyfile(shared("zh_ner", "ccfbdci.jsonl"), ccfbdci)
    # (CMMLU's zip is pinned by its sha256, which a zip rebuilt here cannot have: its tests patch the pin.)
    env = {**os.environ, "HF_ENDPOINT": endpoint, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf")}
    process = subprocess.run([sys.executable, "-m", "llmner", "data", "fetch", "--dataset", "conll2003",
                              "--dataset", "wnut17", "--dataset", "zh_ner",
                              "--data-dir", str(tmp_path / "raw"), "--out-dir", str(tmp_path / "data")],
                             capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert process.returncode == 0, process.stderr[-2000:]
    counts = json.loads((tmp_path / "data" / "counts.json").read_text())
    assert len(counts) == 12  # CoNLL-2003's splits twice: its own answer format and inline
    for target in counts:
        fetched = [json.loads(line) for line in lines(tmp_path / "data" / target)]
        direct = [json.loads(line) for line in lines(converted / target)]
        assert fetched == direct, target  # documents included: the pin puts back what the Hub's rows lost


@pytest.mark.data
def test_the_recorded_content_digests_are_those_of_shared_data(converted):
    """The pins of the sources whose commit and checksum cannot be known offline: ../shared/data's copies."""
    for entry in registry.REGISTRY.values():
        for split, pinned in (entry.digest or {}).items():
            examples = (json.loads(line) for line in lines(converted / entry.name / f"{split}.jsonl"))
            assert registry.content_digest(examples) == pinned, (entry.name, split)
