"""Every dataset, declared once: where its raw files come from (pinned, with checksums), which raw file feeds which
split, its split policy, the one function that converts a raw file (`convert`) and which files it makes of a folder.

`llmner data convert <dataset>` converts one raw file through its entry's `examples`; `llmner data convert-all` and
`llmner data fetch` (what `make data` runs) write its entry's `targets`, each made by the same `examples`: one route,
so a file converted by hand is the file `make data` writes. A new dataset is one reader module and one `Dataset` entry.

Raw files live in `<data dir>/<name>/<file>`, the layout of ../shared/data; a fetched file is saved under the same name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from llmner.converters import classification, conll, fudan_news, gmb, hub_parquet, mcq, zh_ner
from llmner.core.errors import DataError
from llmner.core.examples import draw_shots, seeded_split
from llmner.core.tasks import CLASSIFICATION_LABELS, ner_prompt

FEW_SHOT = 5  # shots for the few-shot classification variant, drawn from the training pool
Targets = list[tuple[str, Callable[[], object]]]  # (data/<name>/<split>.jsonl, make_examples)


@dataclass(frozen=True, kw_only=True)
class HubFile:
    """A file of a Hugging Face Hub repository, fetched with `hf_hub_download` at a pinned revision."""
    repo_id: str
    path: str
    revision: str  # a commit hash where one is known offline; else a branch, and the dataset's `digest` pins it
    sha256: str | None  # None: not known offline; `fetch --record-checksums` prints it on first fetch
    save_as: str
    repo_type: str = "dataset"
    unpack: bool = False  # a zip archive, unpacked into the dataset folder after verification


@dataclass(frozen=True, kw_only=True)
class UrlFile:
    """A file at a plain URL pinned by its path (a git commit in it), fetched with huggingface_hub's `http_get`."""
    url: str
    sha256: str | None
    save_as: str
    git_blob: str | None = None  # the file's git blob id at that commit: a pin known offline when its sha256 is not


@dataclass(frozen=True, kw_only=True)
class ManualFile:
    """A file behind a login: fetch prints the exact command and where to put the file, then takes it from there."""
    save_as: str
    sha256: str | None
    command: str
    arrives_as: str | None = None  # what the command leaves (a zip holding save_as), unpacked by fetch


Source = HubFile | UrlFile | ManualFile


def split_targets(entry: Dataset, folder: Path) -> Targets:
    """One target per split whose raw file is in `folder`, and the same split again in each answer format the entry
    is `also_in` (`<name>_<format>/<split>.jsonl`)."""
    present = [(split, path) for split in entry.files if (path := entry.present(folder, split)) is not None]
    return [(f"{entry.name}/{split}.jsonl", partial(entry.examples, path, split)) for split, path in present] + \
        [(f"{entry.name}_{answer_format}/{split}.jsonl", partial(entry.examples, path, split,
                                                                 answer_format=answer_format))
         for answer_format in entry.also_in for split, path in present]


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """One registered dataset: its raw files and where they come from, and how they become examples."""

    name: str
    task: str
    files: dict[str, tuple[str, ...]]    # split -> raw files that can feed it (the first one present is read)
    split_policy: str
    sources: tuple[Source, ...]
    licence: str
    size: str
    # (entry, raw file, split, **options) -> examples: the one conversion of a raw file, which both
    # `llmner data convert <name>` and every target of convert-all call (`examples` below)
    convert: Callable[..., Iterable[dict]]
    command: str                         # the options its `llmner data convert <name>` takes (converters/cli.py)
    build: Callable[[Dataset, Path], Targets] = split_targets  # which files it makes of a raw folder
    # split -> (examples, content_digest) converted from the known-good copy in ../shared/data: the pin of a source
    # whose commit and checksum cannot be known offline (a fetched copy that converts otherwise is refused)
    digest: dict[str, tuple[int, str]] | None = None
    # a JSON file under this module's folder, split -> sentences in each document, counted from the column files in
    # ../shared/data: the documents a Parquet export dropped, put back where a split converts to the pinned examples
    documents: str | None = None
    # answer formats its splits are also written in, beside its own: what a recipe trains on where that is not the
    # dataset's own format (recipes/smollm2_135m_lora_conll.yml: inline, chosen by benchmarks/RESULTS.md)
    also_in: tuple[str, ...] = ()

    def present(self, folder: Path, split: str) -> Path | None:
        return next((folder / f for f in self.files.get(split, ()) if (folder / f).exists()), None)

    def examples(self, path: str | Path, split: str, **options) -> Iterable[dict]:
        """The examples of one raw file as `split`: what `llmner data convert <name>` writes, and what each
        target of convert-all is made of (`options`: the command's own, e.g. `answer_format`, `shots`)."""
        return self.convert(self, Path(path), split, **options)

    def targets(self, folder: Path) -> Targets:
        """What convert-all writes from the raw files found in `folder` (`data/<name>/<split>.jsonl`)."""
        return self.build(self, folder)


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


# --- the one conversion of a raw file, per kind of dataset ---------------------------------------------------------

def column_examples(entry: Dataset, path: Path, split: str, answer_format: str | None = None,
                    scheme: str = "iob2") -> Iterable[dict]:
    """A CoNLL column file (IOB2, or IOB1 with `scheme`), or the Hub's Parquet export of the same split."""
    prompt = ner_prompt(entry.name, answer_format)
    if path.suffix == ".parquet":
        return parquet_examples(entry, path, prompt, split)
    return conll.convert_file(path, prompt, split, scheme)


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


# The datasets split by a fixed seed-42 split file, each with the module that reads it and draws the file again
# (`llmner data splits`).
SEEDED = {"gmb": gmb, "zh_ner": zh_ner}


def seeded_examples(module, entry: Dataset, path: Path, split: str, answer_format: str | None = None
                    ) -> Iterable[dict]:
    """One split of the fixed seed-42 80/10/10 split file of `module` (`all`: every sentence)."""
    return module.convert_file(path, ner_prompt(entry.name, answer_format), None if split == "all" else split)


def class_names(entry: Dataset, path: Path, classes: str | None) -> tuple[str, ...]:
    """The label names: a file named by `--classes`, else a `class.txt` beside a THUCNews file, else core.tasks'."""
    if classes:
        return classification.read_class_names(classes)
    sibling = path.with_name("class.txt")
    if entry.name == "zh_news" and sibling.exists():
        return classification.read_class_names(sibling)
    return CLASSIFICATION_LABELS[entry.name]


def drawn_shots(entry: Dataset, path: Path, labels: tuple[str, ...], shots: int, shot_pool: str | Path | None,
                seed: int) -> list[tuple[str, str]]:
    """The solved examples a few-shot prompt shows: `shots` (text, label) pairs drawn with `seed` from `shot_pool`,
    a file of the same layout that is not the evaluated one."""
    if shots < 0:
        raise DataError(shot_pool or path, None, f"expected --shots 0 or more, got {shots}")
    if not shots:
        return []
    if not shot_pool:
        raise DataError(path, None, "--shots needs --shot-pool, a file other than the evaluated one")
    if Path(shot_pool).resolve() == path.resolve():
        raise DataError(shot_pool, None, "expected a shot pool other than the evaluated file")
    pool = [(text, label) for _, text, label in classification.read_source(shot_pool, entry.name, labels)]
    if shots > len(pool):
        raise DataError(shot_pool, None, f"expected at least {shots} examples to draw --shots from, found {len(pool)}")
    return draw_shots(pool, shots, seed)


def classification_examples(entry: Dataset, path: Path, split: str, classes: str | None = None, shots: int = 0,
                            shot_pool: str | Path | None = None, seed: int = 42) -> Iterable[dict]:
    """AG News CSV or THUCNews headlines, zero-shot or with `shots` drawn from `shot_pool`."""
    labels = class_names(entry, path, classes)
    return classification.convert_file(path, entry.name, labels, split,
                                       drawn_shots(entry, path, labels, shots, shot_pool, seed))


HELD_OUT = 0.05  # of THUCNews dev.txt (seed 42): validation and temperature fitting; the rest is train


def thucnews_examples(entry: Dataset, path: Path, split: str, **options) -> Iterable[dict]:
    """As `classification_examples`; `train` and `validation` both come from dev.txt, the rows a seed-42 draw of
    `HELD_OUT` holds out being validation, the rest train (ids keep the row's position in the file)."""
    examples = classification_examples(entry, path, split, **options)
    if split not in ("train", "validation"):
        return examples
    examples = list(examples)
    held_out = set(seeded_split(list(range(len(examples))), seed=42, fractions=(HELD_OUT, 0.0))["validation"])
    return [example for index, example in enumerate(examples) if (index in held_out) == (split == "validation")]


def fudan_examples(entry: Dataset, path: Path, split: str) -> Iterable[dict]:
    return fudan_news.convert_file(path, split)


def mcq_examples(entry: Dataset, path: Path, split: str) -> Iterable[dict]:
    """A CSV file, or a folder of them (CMMLU: one per subject)."""
    return mcq.convert_path(path, entry.name, split)


# --- which raw files become which data/<name>/<split>.jsonl ---------------------------------------------------------

def seeded_targets(entry: Dataset, folder: Path) -> Targets:
    """One file, split 80/10/10 by the dataset's fixed seed-42 split file."""
    path = entry.present(folder, "all")
    if path is None:
        return []
    return [(f"{entry.name}/{split}.jsonl", partial(entry.examples, path, split))
            for split in ("train", "validation", "test")]


def thucnews_targets(entry: Dataset, folder: Path) -> Targets:
    """Each split, where class.txt names the labels, and the test split again with `FEW_SHOT` shots drawn from
    dev.txt (`test_5shot.jsonl`)."""
    if not (folder / "class.txt").exists():
        return []
    steps = split_targets(entry, folder)
    pool, test = entry.present(folder, "train"), entry.present(folder, "test")
    if pool is not None and test is not None:
        steps.append((f"{entry.name}/test_{FEW_SHOT}shot.jsonl",
                      partial(entry.examples, test, "test", shots=FEW_SHOT, shot_pool=pool, seed=42)))
    return steps


# --- the datasets --------------------------------------------------------------------------------------------------

# The Hub's own Parquet export (datasets 4 no longer runs the loading scripts). Neither a commit of this branch nor
# the sha256 of its files can be known offline, so `digest` pins what they convert to (`--record-checksums` prints
# their sha256 on a first fetch).
PARQUET = "refs/convert/parquet"
# The Kaggle CLI ignores --unzip together with -f and leaves ner_dataset.csv.zip, which fetch unpacks.
GMB_KAGGLE = "kaggle datasets download abhinavwalia95/entity-annotated-corpus -f ner_dataset.csv -p {folder}"

REGISTRY: dict[str, Dataset] = {entry.name: entry for entry in (
    Dataset(name="conll2003", task="ner",
            files={"train": ("train.txt", "train.parquet"), "validation": ("valid.txt", "validation.parquet"),
                   "test": ("test.txt", "test.parquet")},
            split_policy="the official train / testa / testb",
            sources=tuple(HubFile(repo_id="eriktks/conll2003", path=f"conll2003/{split}/0000.parquet",
                                  revision=PARQUET, sha256=None, save_as=f"{split}.parquet")
                          for split in ("train", "validation", "test")),
            licence="Reuters RCV1 text, research use only", size="20,744 sentences (14,041 / 3,250 / 3,453)",
            convert=column_examples, command="column",
            digest={"train": (14041, "f205000427b09c6d2f8c77327fe11d606385d3701a5af8fc97a26f2dfc21923b"),
                    "validation": (3250, "c946963eadd59f3fd1e5d8b8017f3f318a6ab26aae30350fb7b00cbd1f88f97b"),
                    "test": (3453, "32cb3919dbe05fd934e77833f848cd33bb5424f0149820f8b3d24caeed7b5499")},
            documents="documents/conll2003.json", also_in=("inline",)),
    Dataset(name="wnut17", task="ner",
            files={"train": ("wnut17train.conll", "train.parquet"),
                   "validation": ("emerging.dev.conll", "validation.parquet"),
                   "test": ("emerging.test.annotated", "test.parquet")},
            split_policy="the official train / dev / test",
            sources=tuple(HubFile(repo_id="leondz/wnut_17", path=f"wnut_17/{split}/0000.parquet", revision=PARQUET,
                                  sha256=None, save_as=f"{split}.parquet")
                          for split in ("train", "validation", "test")),
            licence="CC BY 4.0", size="5,690 sentences (3,394 / 1,009 / 1,287)",
            convert=column_examples, command="column",
            digest={"train": (3394, "59ddaafde99a5451e3a31c961d7c571b91b1f85119b0da17ef4f31a0d4dd6748"),
                    "validation": (1009, "4109afc08cf9321e9e4e26538e507c52f7a42d97113f83dbcc5330cd52fadc19"),
                    "test": (1287, "27be7ee1f16a44ca4eccc8ee9b9e316e54620fc697b545110aa018e30cd4cc02")}),
    Dataset(name="gmb", task="ner", files={"all": ("ner_dataset.csv",)},
            split_policy="fixed seed-42 80/10/10 split (converters/splits/gmb.json)",
            sources=(ManualFile(save_as="ner_dataset.csv",
                                sha256="83257dd94ed59596809dc9f5b28f1f035c9d925d5a647f266db43a2f098e8f1a",
                                command=GMB_KAGGLE, arrives_as="ner_dataset.csv.zip"),),
            licence="Kaggle (GMB-derived), research use; cite Bos et al.", size="47,959 sentences, 15 MB",
            convert=partial(seeded_examples, SEEDED["gmb"]), command="seeded", build=seeded_targets),
    # ccfbdci.jsonl has had three sizes across the Hub's revisions and ../shared/data's copy matches none: `digest`
    # pins the examples of that copy, whatever the bytes of the fetched one.
    Dataset(name="zh_ner", task="ner", files={"all": ("ccfbdci.jsonl",)},
            split_policy="fixed seed-42 80/10/10 split (converters/splits/zh_ner.json)",
            sources=(HubFile(repo_id="qgyd2021/chinese_ner_sft", path="data/ccfbdci.jsonl", revision="main",
                             sha256=None, save_as="ccfbdci.jsonl"),),
            licence="CCF BDCI competition set via an apache-2.0 compilation; research use",
            size="15,724 sentences, 4 MB",
            convert=partial(seeded_examples, SEEDED["zh_ner"]), command="seeded", build=seeded_targets,
            digest={"train": (12580, "1ab59626e354b9242932de3d3d35b49443c8dc3ffdb7646e664421bd733f9364"),
                    "validation": (1572, "8e8626c09753fc6f77033b26a19181fab3f27dfa55f3a39e1e3add66c3e47821"),
                    "test": (1572, "8602fcae175e87f42ad65d4e474df6b1fd4b5b37f7566171307cc69fe9abba3c")}),
    # The Hub copies of AG News join title and description into one field; the original CSV keeps them apart,
    # so it is fetched from the copy torchtext downloads, pinned by commit (test.csv's sha256 is in its SOURCE.md;
    # train.csv's is not known offline, but its git blob id at that commit is).
    Dataset(name="ag_news", task="classification", files={"train": ("train.csv",), "test": ("test.csv",)},
            split_policy="the official train / test",
            sources=tuple(UrlFile(url="https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/"
                                      f"555590db4219b1243abb1918effd6a7425a2d75f/data/ag_news_csv/{name}",
                                  sha256=sha, save_as=name, git_blob=blob)
                          for name, sha, blob in (
                              ("train.csv", None, "694aa19971315410e000404523796b76349d3c1d"),
                              ("test.csv", "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                               "130b40c3329c993468b8ed8a22c331315e478e0a"))),
            licence="research, non-commercial", size="127,600 rows (120,000 / 7,600), 31 MB",
            convert=classification_examples, command="classification"),
    Dataset(name="zh_news", task="classification",
            files={"train": ("dev.txt",), "validation": ("dev.txt",), "test": ("test.txt",)},
            split_policy="dev.txt: 9,500 train + 500 held out (seed 42); test.txt: test (+ a 5-shot variant)",
            sources=tuple(UrlFile(url="https://raw.githubusercontent.com/649453932/Chinese-Text-Classification-Pytorch/"
                                      f"6cb26819af7b646275aff8a4693676f2849e67f6/THUCNews/data/{name}",
                                  sha256=sha, save_as=name)
                          for name, sha in (
                              ("dev.txt", "6ed73aa2c57ee1560c8f76570d48735c4b1c29ae4983fe3523d56e115813e175"),
                              ("test.txt", "ebecc8c896635ad69730083ca7b81d37c42c9a5779bc05c9d2479d894e34f026"),
                              ("class.txt", "005e8813ad639c219e5902dc84889202b4a717b4238497d26c3fbd5e43927a86"))),
            licence="THUCTC, academic use", size="20,000 headlines, 1 MB",
            convert=thucnews_examples, command="classification", build=thucnews_targets),
    # Not pinned: no ModelScope revision that cannot move, no checksum and no known-good copy is known offline.
    # `fetch --record-checksums` prints the sha256 of a first fetch, to record here.
    Dataset(name="fudan_news", task="classification", files={"train": ("train.jsonl",), "test": ("test.jsonl",)},
            split_policy="the published train / test",
            sources=tuple(UrlFile(url="https://www.modelscope.cn/api/v1/datasets/swift/zh_cls_fudan-news/repo?"
                                      f"Revision=master&FilePath={name}", sha256=None, save_as=name)
                          for name in ("train.jsonl", "test.jsonl")),
            licence="Apache-2.0 (ModelScope card)", size="4,959 records (4,000 / 959)",
            convert=fudan_examples, command="plain"),
    Dataset(name="cmmlu", task="mcq", files={"train": ("dev",), "test": ("test",)},
            split_policy="dev (5 per subject, the few-shot pool) as train; test",
            # The zip is Git LFS object 22ecf70b… (1,078,656 bytes) at this commit.
            sources=(HubFile(repo_id="haonan-li/cmmlu", path="cmmlu_v1_0_1.zip",
                             revision="efcc940752ea4a1ea94d2727f11f83858d64fc8e",
                             sha256="22ecf70b28bef447ee7d8aa5fe144f56996762f901a8537b03b7693773c672a6",
                             save_as="cmmlu_v1_0_1.zip", unpack=True),),
            licence="CC BY-NC-SA 4.0", size="11,917 questions (335 / 11,582), 67 subjects",
            convert=mcq_examples, command="plain"),
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
    return [step for name in names or REGISTRY for step in REGISTRY[name].targets(data_dir / name)]
