"""Every dataset, declared once: where its raw files come from (pinned, with checksums), which raw file feeds which
split, its reader, split policy, label set and answer format, and how it becomes `data/<name>/<split>.jsonl`.

`python -m converters all` (what `make data` runs), `python -m converters fetch` and the per-dataset commands all loop
over `REGISTRY`. A new dataset is one reader module and one `Dataset` entry here.

Raw files live in `<data dir>/<name>/<file>`, the layout of ../shared/data; a fetched file is saved under the same name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from converters import classification, conll, fudan_news, gmb, hub_parquet, mcq, zh_ner
from core.examples import seeded_split
from core.tasks import CLASSIFICATION_LABELS, ner_prompt

FEW_SHOT = 5  # shots for the few-shot classification variant, drawn from the training pool
Targets = list[tuple[str, Callable[[], object]]]  # (data/<name>/<split>.jsonl, make_examples)


@dataclass(frozen=True)
class HubFile:
    """A file of a Hugging Face Hub repository, fetched with `hf_hub_download` at a pinned revision."""
    repo_id: str
    path: str
    revision: str
    sha256: str | None  # None: not known offline; `fetch --record-checksums` prints it on first fetch
    save_as: str
    repo_type: str = "dataset"
    unpack: bool = False  # a zip archive, unpacked into the dataset folder after verification


@dataclass(frozen=True)
class UrlFile:
    """A file at a plain URL pinned by its path (a git commit in it), fetched with huggingface_hub's `http_get`."""
    url: str
    sha256: str | None
    save_as: str


@dataclass(frozen=True)
class ManualFile:
    """A file behind a login: fetch prints the exact command and where to put the file, then takes it from there."""
    save_as: str
    sha256: str | None
    command: str


Source = HubFile | UrlFile | ManualFile


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str
    reader: str                          # the converters module that reads the raw files
    files: dict[str, tuple[str, ...]]    # split -> raw files that can feed it (the first one present is read)
    split_policy: str
    labels: str                          # where the label set comes from
    answer_format: str | None            # NER: the default answer format of core.tasks (None: not NER)
    sources: tuple[Source, ...]
    licence: str
    size: str
    build: Callable[["Dataset", Path], Targets]
    command: str | None = None           # the per-dataset command kind of converters/cli.py, if any

    def present(self, folder: Path, split: str) -> Path | None:
        return next((folder / f for f in self.files.get(split, ()) if (folder / f).exists()), None)


# --- how each kind of dataset becomes targets ---------------------------------------------------------------------

def column_targets(entry: Dataset, folder: Path) -> Targets:
    """CoNLL column files, or the Hub's Parquet export of the same split (fetched)."""
    prompt = ner_prompt(entry.name)
    steps = []
    for split in entry.files:
        path = entry.present(folder, split)
        if path is not None:
            read = hub_parquet.convert_file if path.suffix == ".parquet" else conll.convert_file
            steps.append((f"{entry.name}/{split}.jsonl", partial(read, path, prompt, split)))
    return steps


def seeded_targets(module, entry: Dataset, folder: Path) -> Targets:
    """One file, split 80/10/10 by the fixed seed-42 split file of `module`."""
    path = entry.present(folder, "all")
    if path is None:
        return []
    return [(f"{entry.name}/{split}.jsonl", partial(module.convert_file, path, ner_prompt(entry.name), split))
            for split in ("train", "validation", "test")]


def ag_news_targets(entry: Dataset, folder: Path) -> Targets:
    labels = CLASSIFICATION_LABELS["ag_news"]
    return [(f"ag_news/{split}.jsonl", partial(classification.convert_file, path, "ag_news", labels, split))
            for split in entry.files if (path := entry.present(folder, split)) is not None]


def select(make_examples, keep) -> list[dict]:
    """The examples whose position in the source passes `keep` (ids keep the source position)."""
    return [example for index, example in enumerate(make_examples()) if keep(index)]


def thucnews_targets(entry: Dataset, folder: Path) -> Targets:
    dev, test, class_file = folder / "dev.txt", folder / "test.txt", folder / "class.txt"
    if not (dev.exists() and test.exists() and class_file.exists()):
        return []
    labels = classification.read_class_names(class_file)
    # 500 dev headlines (seed 42) are held out for validation and temperature fitting; 9,500 train.
    held_out = set(seeded_split(list(range(10_000)), seed=42, fractions=(0.05, 0.0))["validation"])
    steps = [(f"zh_news/{split}.jsonl",
              partial(select, partial(classification.convert_file, dev, "zh_news", labels, split), keep))
             for split, keep in (("train", lambda i: i not in held_out), ("validation", lambda i: i in held_out))]
    steps.append(("zh_news/test.jsonl", partial(classification.convert_file, test, "zh_news", labels, "test")))
    pool = [(text, label) for _, text, label in classification.read_thucnews(dev, labels)]
    steps.append((f"zh_news/test_{FEW_SHOT}shot.jsonl",
                  lambda: classification.convert_file(test, "zh_news", labels, "test",
                                                      classification.draw_shots(pool, FEW_SHOT, 42))))
    return steps


def mcq_targets(entry: Dataset, folder: Path) -> Targets:
    return [(f"{entry.name}/{split}.jsonl", partial(mcq.convert_path, path, entry.name, split))
            for split in entry.files if (path := entry.present(folder, split)) is not None]


def fudan_targets(entry: Dataset, folder: Path) -> Targets:
    return [(f"{entry.name}/{split}.jsonl", partial(fudan_news.convert_file, path, split))
            for split in entry.files if (path := entry.present(folder, split)) is not None]


# --- the datasets --------------------------------------------------------------------------------------------------

PARQUET = "refs/convert/parquet"  # the Hub's own Parquet export: datasets 4 no longer runs the loading scripts
GMB_KAGGLE = "kaggle datasets download abhinavwalia95/entity-annotated-corpus -f ner_dataset.csv -p {folder} --unzip"

REGISTRY: dict[str, Dataset] = {entry.name: entry for entry in (
    Dataset("conll2003", "ner", "conll (column files) / hub_parquet",
            {"train": ("train.txt", "train.parquet"), "validation": ("valid.txt", "validation.parquet"),
             "test": ("test.txt", "test.parquet")},
            "the official train / testa / testb", "core.tasks (PER, LOC, ORG, MISC)", "labelled",
            tuple(HubFile("eriktks/conll2003", f"conll2003/{split}/0000.parquet", PARQUET, None, f"{split}.parquet")
                  for split in ("train", "validation", "test")),
            "Reuters RCV1 text, research use only", "20,744 sentences (14,041 / 3,250 / 3,453)",
            column_targets, "column"),
    Dataset("wnut17", "ner", "conll (column files) / hub_parquet",
            {"train": ("wnut17train.conll", "train.parquet"), "validation": ("emerging.dev.conll", "validation.parquet"),
             "test": ("emerging.test.annotated", "test.parquet")},
            "the official train / dev / test", "core.tasks (6 types)", "labelled",
            tuple(HubFile("leondz/wnut_17", f"wnut_17/{split}/0000.parquet", PARQUET, None, f"{split}.parquet")
                  for split in ("train", "validation", "test")),
            "CC BY 4.0", "5,690 sentences (3,394 / 1,009 / 1,287)", column_targets, "column"),
    Dataset("gmb", "ner", "gmb", {"all": ("ner_dataset.csv",)},
            "fixed seed-42 80/10/10 split (converters/splits/gmb.json)", "core.tasks (8 types)", "labelled",
            (ManualFile("ner_dataset.csv", "83257dd94ed59596809dc9f5b28f1f035c9d925d5a647f266db43a2f098e8f1a",
                        GMB_KAGGLE),),
            "Kaggle (GMB-derived), research use; cite Bos et al.", "47,959 sentences, 15 MB",
            partial(seeded_targets, gmb), "seeded"),
    Dataset("zh_ner", "ner", "zh_ner", {"all": ("ccfbdci.jsonl",)},
            "fixed seed-42 80/10/10 split (converters/splits/zh_ner.json)", "core.tasks (GPE, PER, ORG, LOC)", "json",
            (HubFile("qgyd2021/chinese_ner_sft", "data/ccfbdci.jsonl", "main", None, "ccfbdci.jsonl"),),
            "CCF BDCI competition set via an apache-2.0 compilation; research use", "15,724 sentences, 4 MB",
            partial(seeded_targets, zh_ner), "seeded"),
    # The Hub copies of AG News join title and description into one field; the original CSV keeps them apart,
    # so it is fetched from the copy torchtext downloads, pinned by commit (test.csv's sha256 is in its SOURCE.md).
    Dataset("ag_news", "classification", "classification (AG News CSV)",
            {"train": ("train.csv",), "test": ("test.csv",)}, "the official train / test",
            "core.tasks (World, Sports, Business, Sci/Tech)", None,
            tuple(UrlFile("https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/"
                          f"555590db4219b1243abb1918effd6a7425a2d75f/data/ag_news_csv/{name}", sha, name)
                  for name, sha in (("train.csv", None), ("test.csv", "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353"
                                                                      "eb2c40d548c3c85699"))),
            "research, non-commercial", "127,600 rows (120,000 / 7,600), 31 MB", ag_news_targets),
    Dataset("zh_news", "classification", "classification (THUCNews)",
            {"train": ("dev.txt",), "validation": ("dev.txt",), "test": ("test.txt",)},
            "dev.txt: 9,500 train + 500 held out (seed 42); test.txt: test (+ a 5-shot variant)", "class.txt", None,
            tuple(UrlFile("https://raw.githubusercontent.com/649453932/Chinese-Text-Classification-Pytorch/"
                          f"6cb26819af7b646275aff8a4693676f2849e67f6/THUCNews/data/{name}", sha, name)
                  for name, sha in (
                      ("dev.txt", "6ed73aa2c57ee1560c8f76570d48735c4b1c29ae4983fe3523d56e115813e175"),
                      ("test.txt", "ebecc8c896635ad69730083ca7b81d37c42c9a5779bc05c9d2479d894e34f026"),
                      ("class.txt", "005e8813ad639c219e5902dc84889202b4a717b4238497d26c3fbd5e43927a86"))),
            "THUCTC, academic use", "20,000 headlines, 1 MB", thucnews_targets),
    Dataset("fudan_news", "classification", "fudan_news", {"train": ("train.jsonl",), "test": ("test.jsonl",)},
            "the published train / test", "each record's own candidate list (`category`)", None,
            tuple(UrlFile("https://www.modelscope.cn/api/v1/datasets/swift/zh_cls_fudan-news/repo?"
                          f"Revision=master&FilePath={name}", None, name) for name in ("train.jsonl", "test.jsonl")),
            "Apache-2.0 (ModelScope card)", "4,959 records (4,000 / 959)", fudan_targets, "fudan"),
    Dataset("cmmlu", "mcq", "mcq", {"train": ("dev",), "test": ("test",)},
            "dev (5 per subject, the few-shot pool) as train; test", "A-D", None,
            (HubFile("haonan-li/cmmlu", "cmmlu_v1_0_1.zip", "main", None, "cmmlu_v1_0_1.zip", unpack=True),),
            "CC BY-NC-SA 4.0", "11,917 questions (335 / 11,582), 67 subjects", mcq_targets),
)}


def source_text(source: Source) -> str:
    """Where one raw file comes from, as the README's data table says it."""
    if isinstance(source, HubFile):
        return f"Hub `{source.repo_id}` ({source.revision})"
    if isinstance(source, UrlFile):
        return f"[{source.save_as}]({source.url})"
    return "Kaggle, behind a login (fetch prints the command)"


def markdown_table() -> str:
    """The README's data table, generated here so that the two cannot disagree."""
    rows = ["| dataset | task | pinned source | split | licence | size |", "|---|---|---|---|---|---|"]
    for entry in REGISTRY.values():
        sources = "<br>".join(dict.fromkeys(source_text(source) for source in entry.sources))
        rows.append(f"| `{entry.name}` | {entry.task} | {sources} | {entry.split_policy} | {entry.licence} | "
                    f"{entry.size} |")
    return "\n".join(rows)


def conversion_plan(data_dir: Path, names: list[str] | None = None) -> Targets:
    """What `make data` converts: every registered dataset whose raw files are in `data_dir`."""
    return [step for name in names or REGISTRY for step in REGISTRY[name].build(REGISTRY[name], data_dir / name)]
