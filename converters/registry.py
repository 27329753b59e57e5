"""Every dataset, declared once: where its raw files come from (pinned, with checksums), which raw file feeds which
split, its reader, split policy, label set and answer format, and how it becomes `data/<name>/<split>.jsonl`.

`llmner data fetch` (what `make data` runs), `llmner data convert-all` and the `llmner data convert <dataset>` commands
all loop over `REGISTRY`. A new dataset is one reader module and one `Dataset` entry here.

Raw files live in `<data dir>/<name>/<file>`, the layout of ../shared/data; a fetched file is saved under the same name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from converters import classification, conll, fudan_news, gmb, hub_parquet, mcq, zh_ner
from core.examples import draw_shots, seeded_split
from core.tasks import CLASSIFICATION_LABELS, ner_prompt

FEW_SHOT = 5  # shots for the few-shot classification variant, drawn from the training pool
Targets = list[tuple[str, Callable[[], object]]]  # (data/<name>/<split>.jsonl, make_examples)


@dataclass(frozen=True)
class HubFile:
    """A file of a Hugging Face Hub repository, fetched with `hf_hub_download` at a pinned revision."""
    repo_id: str
    path: str
    revision: str  # a commit hash where one is known offline; else a branch, and the dataset's `digest` pins it
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
    git_blob: str | None = None  # the file's git blob id at that commit: a pin known offline when its sha256 is not


@dataclass(frozen=True)
class ManualFile:
    """A file behind a login: fetch prints the exact command and where to put the file, then takes it from there."""
    save_as: str
    sha256: str | None
    command: str
    arrives_as: str | None = None  # what the command leaves (a zip holding save_as), unpacked by fetch


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
    build: Callable[[Dataset, Path], Targets]
    command: str | None = None           # the per-dataset command kind of converters/cli.py, if any
    # split -> (examples, content_digest) converted from the known-good copy in ../shared/data: the pin of a source
    # whose commit and checksum cannot be known offline (a fetched copy that converts otherwise is refused)
    digest: dict[str, tuple[int, str]] | None = None
    # a JSON file under this module's folder, split -> sentences in each document, counted from the column files in
    # ../shared/data: the documents a Parquet export dropped, put back where a split converts to the pinned examples
    documents: str | None = None

    def present(self, folder: Path, split: str) -> Path | None:
        return next((folder / f for f in self.files.get(split, ()) if (folder / f).exists()), None)


def expected_files(entry: Dataset) -> list[tuple[str, ...]]:
    """The raw files a complete folder holds, each as its alternatives (CoNLL: the column file or the Parquet)."""
    named = {name for alternatives in entry.files.values() for name in alternatives}
    extra = [(source.save_as,) for source in entry.sources  # class.txt: read beside the split files
             if source.save_as not in named and not getattr(source, "unpack", False)]
    return list(dict.fromkeys(entry.files.values())) + extra


def missing_files(entry: Dataset, folder: Path) -> list[str]:
    """The expected raw files not in `folder`, each as `folder/a (or b)`, for `all` to name."""
    return [f"{folder / alternatives[0]}" + "".join(f" (or {name})" for name in alternatives[1:])
            for alternatives in expected_files(entry) if not any((folder / name).exists() for name in alternatives)]


PINNED_GOLD = ("text", "tokens", "entities", "label", "answer", "options")  # what a source decides in `gold`


def content_digest(examples: Iterable[dict]) -> tuple[int, str]:
    """Count and sha256 of what a source gives its examples: each id and the `PINNED_GOLD` part of its gold (not the
    prompt, label set or answer format, which come from core.tasks). Two copies that convert alike digest alike,
    whatever their bytes (a Parquet export, re-serialised JSON), and a prompt change does not move the pin."""
    digest, count = hashlib.sha256(), 0
    for example in examples:
        gold = {key: example["gold"][key] for key in PINNED_GOLD if key in example["gold"]}
        digest.update(json.dumps([example["id"], gold], ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
        count += 1
    return count, digest.hexdigest()


# --- how each kind of dataset becomes targets ---------------------------------------------------------------------

def column_targets(entry: Dataset, folder: Path) -> Targets:
    """CoNLL column files, or the Hub's Parquet export of the same split (fetched)."""
    prompt = ner_prompt(entry.name)
    steps = []
    for split in entry.files:
        path = entry.present(folder, split)
        if path is not None:
            read = partial(parquet_examples, entry) if path.suffix == ".parquet" else conll.convert_file
            steps.append((f"{entry.name}/{split}.jsonl", partial(read, path, prompt, split)))
    return steps


def parquet_examples(entry: Dataset, path: Path, prompt, split: str) -> list[dict]:
    """The Hub's Parquet split as examples, each with its `gold.document` where the dataset's documents are pinned
    (`documents`) and the split converts to the pinned examples (`digest`). Where they cannot be put back it says so
    on stderr: the scorer then resamples single sentences, whose intervals are too narrow when errors cluster by
    document."""
    examples = list(hub_parquet.convert_file(path, prompt, split))
    if entry.documents is None:
        return examples
    sizes = json.loads((Path(__file__).parent / entry.documents).read_text(encoding="utf-8")).get(split)
    if sizes and entry.digest and content_digest(examples) == entry.digest.get(split) and sum(sizes) == len(examples):
        numbers = (document for document, size in enumerate(sizes) for _ in range(size))
        for example, document in zip(examples, numbers):
            example["gold"]["document"] = document
    else:
        import click

        click.echo(f"warning: {path}: no documents: the Hub's Parquet export drops {entry.name}'s -DOCSTART- lines, "
                   f"and this {split} split is not the pinned one whose documents are known, so its examples keep "
                   "none and `score` and `compare` will resample single sentences (intervals too narrow where errors "
                   "cluster by document); convert the column files to keep them", err=True)
    return examples


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
                                                      draw_shots(pool, FEW_SHOT, 42))))
    return steps


def mcq_targets(entry: Dataset, folder: Path) -> Targets:
    return [(f"{entry.name}/{split}.jsonl", partial(mcq.convert_path, path, entry.name, split))
            for split in entry.files if (path := entry.present(folder, split)) is not None]


def fudan_targets(entry: Dataset, folder: Path) -> Targets:
    return [(f"{entry.name}/{split}.jsonl", partial(fudan_news.convert_file, path, split))
            for split in entry.files if (path := entry.present(folder, split)) is not None]


# --- the datasets --------------------------------------------------------------------------------------------------

# The Hub's own Parquet export (datasets 4 no longer runs the loading scripts). Neither a commit of this branch nor
# the sha256 of its files can be known offline, so `digest` pins what they convert to (`--record-checksums` prints
# their sha256 on a first fetch).
PARQUET = "refs/convert/parquet"
# The Kaggle CLI ignores --unzip together with -f and leaves ner_dataset.csv.zip, which fetch unpacks.
GMB_KAGGLE = "kaggle datasets download abhinavwalia95/entity-annotated-corpus -f ner_dataset.csv -p {folder}"

REGISTRY: dict[str, Dataset] = {entry.name: entry for entry in (
    Dataset("conll2003", "ner", "conll (column files) / hub_parquet",
            {"train": ("train.txt", "train.parquet"), "validation": ("valid.txt", "validation.parquet"),
             "test": ("test.txt", "test.parquet")},
            "the official train / testa / testb", "core.tasks (PER, LOC, ORG, MISC)", "labelled",
            tuple(HubFile("eriktks/conll2003", f"conll2003/{split}/0000.parquet", PARQUET, None, f"{split}.parquet")
                  for split in ("train", "validation", "test")),
            "Reuters RCV1 text, research use only", "20,744 sentences (14,041 / 3,250 / 3,453)",
            column_targets, "column",
            digest={"train": (14041, "f205000427b09c6d2f8c77327fe11d606385d3701a5af8fc97a26f2dfc21923b"),
                    "validation": (3250, "c946963eadd59f3fd1e5d8b8017f3f318a6ab26aae30350fb7b00cbd1f88f97b"),
                    "test": (3453, "32cb3919dbe05fd934e77833f848cd33bb5424f0149820f8b3d24caeed7b5499")},
            documents="documents/conll2003.json"),
    Dataset("wnut17", "ner", "conll (column files) / hub_parquet",
            {"train": ("wnut17train.conll", "train.parquet"),
             "validation": ("emerging.dev.conll", "validation.parquet"),
             "test": ("emerging.test.annotated", "test.parquet")},
            "the official train / dev / test", "core.tasks (6 types)", "labelled",
            tuple(HubFile("leondz/wnut_17", f"wnut_17/{split}/0000.parquet", PARQUET, None, f"{split}.parquet")
                  for split in ("train", "validation", "test")),
            "CC BY 4.0", "5,690 sentences (3,394 / 1,009 / 1,287)", column_targets, "column",
            digest={"train": (3394, "59ddaafde99a5451e3a31c961d7c571b91b1f85119b0da17ef4f31a0d4dd6748"),
                    "validation": (1009, "4109afc08cf9321e9e4e26538e507c52f7a42d97113f83dbcc5330cd52fadc19"),
                    "test": (1287, "27be7ee1f16a44ca4eccc8ee9b9e316e54620fc697b545110aa018e30cd4cc02")}),
    Dataset("gmb", "ner", "gmb", {"all": ("ner_dataset.csv",)},
            "fixed seed-42 80/10/10 split (converters/splits/gmb.json)", "core.tasks (8 types)", "labelled",
            (ManualFile("ner_dataset.csv", "83257dd94ed59596809dc9f5b28f1f035c9d925d5a647f266db43a2f098e8f1a",
                        GMB_KAGGLE, "ner_dataset.csv.zip"),),
            "Kaggle (GMB-derived), research use; cite Bos et al.", "47,959 sentences, 15 MB",
            partial(seeded_targets, gmb), "seeded"),
    # ccfbdci.jsonl has had three sizes across the Hub's revisions and ../shared/data's copy matches none: `digest`
    # pins the examples of that copy, whatever the bytes of the fetched one.
    Dataset("zh_ner", "ner", "zh_ner", {"all": ("ccfbdci.jsonl",)},
            "fixed seed-42 80/10/10 split (converters/splits/zh_ner.json)", "core.tasks (GPE, PER, ORG, LOC)", "json",
            (HubFile("qgyd2021/chinese_ner_sft", "data/ccfbdci.jsonl", "main", None, "ccfbdci.jsonl"),),
            "CCF BDCI competition set via an apache-2.0 compilation; research use", "15,724 sentences, 4 MB",
            partial(seeded_targets, zh_ner), "seeded",
            digest={"train": (12580, "1ab59626e354b9242932de3d3d35b49443c8dc3ffdb7646e664421bd733f9364"),
                    "validation": (1572, "8e8626c09753fc6f77033b26a19181fab3f27dfa55f3a39e1e3add66c3e47821"),
                    "test": (1572, "8602fcae175e87f42ad65d4e474df6b1fd4b5b37f7566171307cc69fe9abba3c")}),
    # The Hub copies of AG News join title and description into one field; the original CSV keeps them apart,
    # so it is fetched from the copy torchtext downloads, pinned by commit (test.csv's sha256 is in its SOURCE.md;
    # train.csv's is not known offline, but its git blob id at that commit is).
    Dataset("ag_news", "classification", "classification (AG News CSV)",
            {"train": ("train.csv",), "test": ("test.csv",)}, "the official train / test",
            "core.tasks (World, Sports, Business, Sci/Tech)", None,
            tuple(UrlFile("https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/"
                          f"555590db4219b1243abb1918effd6a7425a2d75f/data/ag_news_csv/{name}", sha, name, blob)
                  for name, sha, blob in (
                      ("train.csv", None, "694aa19971315410e000404523796b76349d3c1d"),
                      ("test.csv", "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                       "130b40c3329c993468b8ed8a22c331315e478e0a"))),
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
    # Not pinned: no ModelScope revision that cannot move, no checksum and no known-good copy is known offline.
    # `fetch --record-checksums` prints the sha256 of a first fetch, to record here.
    Dataset("fudan_news", "classification", "fudan_news", {"train": ("train.jsonl",), "test": ("test.jsonl",)},
            "the published train / test", "each record's own candidate list (`category`)", None,
            tuple(UrlFile("https://www.modelscope.cn/api/v1/datasets/swift/zh_cls_fudan-news/repo?"
                          f"Revision=master&FilePath={name}", None, name) for name in ("train.jsonl", "test.jsonl")),
            "Apache-2.0 (ModelScope card)", "4,959 records (4,000 / 959)", fudan_targets, "fudan"),
    Dataset("cmmlu", "mcq", "mcq", {"train": ("dev",), "test": ("test",)},
            "dev (5 per subject, the few-shot pool) as train; test", "A-D", None,
            # The zip is Git LFS object 22ecf70b… (1,078,656 bytes) at this commit.
            (HubFile("haonan-li/cmmlu", "cmmlu_v1_0_1.zip", "efcc940752ea4a1ea94d2727f11f83858d64fc8e",
                     "22ecf70b28bef447ee7d8aa5fe144f56996762f901a8537b03b7693773c672a6", "cmmlu_v1_0_1.zip",
                     unpack=True),),
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
        sources += "<br>examples pinned by digest" if entry.digest else ""
        rows.append(f"| `{entry.name}` | {entry.task} | {sources} | {entry.split_policy} | {entry.licence} | "
                    f"{entry.size} |")
    return "\n".join(rows)


def conversion_plan(data_dir: Path, names: list[str] | None = None) -> Targets:
    """What `make data` converts: every registered dataset whose raw files are in `data_dir`."""
    return [step for name in names or REGISTRY for step in REGISTRY[name].build(REGISTRY[name], data_dir / name)]
