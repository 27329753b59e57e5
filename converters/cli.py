"""`llmner data`: `convert <dataset> --input RAW --output OUT.jsonl [--split ...]`, `fetch [--dataset NAME ...]` and
`convert-all` (`--data-dir RAW --out-dir data`, what `make data` runs), and `splits` (maintainers). Every dataset
command and both loops come from converters/registry.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from converters import classification, conll, fudan_news, gmb, mcq, zh_ner
from converters.make_splits import main as splits_command
from converters.registry import REGISTRY, conversion_plan, missing_files, parquet_examples
from core import options
from core.answer_format import ANSWER_FORMATS
from core.errors import DataError
from core.examples import draw_shots
from core.io import check_writable, write_jsonl
from core.tasks import CLASSIFICATION_LABELS, ner_prompt

# The split names of the ids and of data/<dataset>/<split>.jsonl (CONTRACT.md): `validation`, not the vocabulary's
# `dev`, so that a file converted by hand has the ids `make data` gives it.
input_option = click.option("--input", "input_path", required=True, help="Raw source file (or folder, for mcq).")
output_option = options.output("Examples JSONL to write.")
split_option = options.split()
format_option = click.option("--answer-format", type=click.Choice(sorted(ANSWER_FORMATS)), default=None,
                             help="NER answer format (default: the dataset's own).")


def report(output: str, count: int) -> None:
    click.echo(f"wrote {count} examples to {output}", err=True)


@click.group("data")
def main():
    """Fetch the pinned datasets and convert them into the chat-format JSONL of shared/CONTRACT.md."""


@main.group("convert")
def convert():
    """Convert one raw file of a dataset into examples JSONL."""


def column_command(dataset: str):
    @convert.command(dataset,
                     help=f"{dataset} CoNLL column file (or the Hub's Parquet split that fetch saves) -> examples.")
    @input_option
    @output_option
    @split_option
    @click.option("--scheme", type=click.Choice(["iob2", "iob1"]), default="iob2", show_default=True,
                  help="Tag scheme of the file; IOB1 is converted to IOB2.")
    @format_option
    def command(input_path, output, split, scheme, answer_format):
        check_writable(output)
        prompt = ner_prompt(dataset, answer_format)
        if input_path.endswith(".parquet"):
            examples = parquet_examples(REGISTRY[dataset], Path(input_path), prompt, split)
        else:
            examples = conll.convert_file(input_path, prompt, split, scheme)
        report(output, write_jsonl(output, examples))

    return command


def seeded_command(name: str):
    module = {"gmb": gmb, "zh_ner": zh_ner}[name]

    @convert.command(name, help=f"{name} {'/'.join(f for fs in REGISTRY[name].files.values() for f in fs)} -> "
                                "examples of one split of the fixed seed-42 80/10/10 split (all: every sentence).")
    @input_option
    @output_option
    @options.split(extra=("all",))
    @format_option
    def command(input_path, output, split, answer_format):
        check_writable(output)
        examples = module.convert_file(input_path, ner_prompt(name, answer_format), None if split == "all" else split)
        report(output, write_jsonl(output, examples))
        if name == "gmb" and gmb.truncated_at_row_limit(input_path):
            click.echo("known defect: the file ends at Excel's row limit, so its last sentence is truncated "
                       "(1 sentence, kept as is)", err=True)

    return command


def fudan_command(name: str):
    @convert.command(name, help="zh_cls_fudan-news train.jsonl / test.jsonl (text, category, output) -> examples.")
    @input_option
    @output_option
    @split_option
    def command(input_path, output, split):
        check_writable(output)
        report(output, write_jsonl(output, fudan_news.convert_file(input_path, split)))

    return command


COMMANDS = {"column": column_command, "seeded": seeded_command, "fudan": fudan_command}
for _entry in REGISTRY.values():
    if _entry.command:
        COMMANDS[_entry.command](_entry.name)


def guess_source(path: str) -> str:
    return "ag_news" if path.endswith(".csv") else "zh_news"


def class_names(source: str, input_path: str, classes: str | None) -> tuple[str, ...]:
    if classes:
        return classification.read_class_names(classes)
    sibling = Path(input_path).with_name("class.txt")
    if source == "zh_news" and sibling.exists():
        return classification.read_class_names(sibling)
    return CLASSIFICATION_LABELS[source]


@convert.command("classification", help="AG News CSV or THUCNews headlines -> examples (zero-, one- or few-shot).")
@input_option
@output_option
@split_option
@click.option("--source", type=click.Choice(["ag_news", "zh_news"]), default=None,
              help="Layout of the input (default: .csv is AG News, anything else THUCNews).")
@click.option("--classes", default=None, help="Label names, one per line (THUCNews: class.txt beside the input).")
@click.option("--shots", default=0, show_default=True, help="Solved examples put before each text.")
@click.option("--shot-pool", default=None, help="File the shots are drawn from; never the evaluated file.")
@options.seed(help="Seed of the shots drawn.")
def classification_command(input_path, output, split, source, classes, shots, shot_pool, seed):
    check_writable(output)
    source = source or guess_source(input_path)
    labels = class_names(source, input_path, classes)
    report(output, write_jsonl(output, classification_examples(input_path, source, labels, split, shots,
                                                                shot_pool, seed)))


def classification_examples(input_path, source, labels, split, shots=0, shot_pool=None, seed=42):
    drawn = []
    if shots < 0:
        raise DataError(shot_pool or input_path, None, f"expected --shots 0 or more, got {shots}")
    if shots:
        if not shot_pool:
            raise DataError(input_path, None, "--shots needs --shot-pool, a file other than the evaluated one")
        if Path(shot_pool).resolve() == Path(input_path).resolve():
            raise DataError(shot_pool, None, "expected a shot pool other than the evaluated file")
        pool = [(text, label) for _, text, label in classification.read_source(shot_pool, source, labels)]
        if shots > len(pool):
            raise DataError(shot_pool, None, f"expected at least {shots} examples to draw --shots from, found "
                                             f"{len(pool)}")
        drawn = draw_shots(pool, shots, seed)
    return classification.convert_file(input_path, source, labels, split, drawn)


@convert.command("mcq", help="4-option multiple-choice CSV (or a folder of them) -> examples.")
@input_option
@output_option
@split_option
@click.option("--name", default="cmmlu", show_default=True, help="Dataset name used in the ids.")
def mcq_command(input_path, output, split, name):
    check_writable(output)
    report(output, write_jsonl(output, mcq.convert_path(input_path, name, split)))


def chosen(names: tuple[str, ...]) -> list[str]:
    """The named datasets in the order given, each once; every registered one when none is named."""
    unknown = sorted(set(names) - set(REGISTRY))
    if unknown:
        raise click.BadParameter(f"expected dataset names ({', '.join(REGISTRY)}); got {' '.join(unknown)}",
                                 param_hint="--dataset")
    return list(dict.fromkeys(names)) or list(REGISTRY)


def convert_all(data_dir: Path, out_dir: Path, names: list[str]) -> dict[str, int]:
    """Every target of the named datasets whose raw files are in data_dir, plus out_dir/counts.json."""
    from tqdm import tqdm

    check_writable(out_dir / "counts.json")
    steps = conversion_plan(data_dir, names)
    if not steps:
        raise DataError(data_dir, None, f"expected dataset folders ({', '.join(names)}); found none "
                                        "(`llmner data fetch` fetches them)")
    counts = {}
    for target, make_examples in tqdm(steps, desc="make data", unit="file", file=sys.stderr):
        counts[target] = write_jsonl(out_dir / target, make_examples())
    (out_dir / "counts.json").write_text(json.dumps(counts, indent=1) + "\n")
    for target, count in counts.items():
        click.echo(f"{count:>7}  {out_dir / target}")
    for name in names:  # a split whose file is missing is otherwise skipped without a word
        for path in missing_files(REGISTRY[name], data_dir / name):
            click.echo(f"not found, so not converted: {path}", err=True)
    return counts


data_dir_option = options.data_dir(help="Raw files, one folder per dataset (what `llmner data fetch` writes).")
out_dir_option = options.out_dir("Where data/<dataset>/<split>.jsonl go.", default="data")


@main.command("convert-all", help="Convert every registered dataset found in --data-dir into --out-dir; name every "
                                  "expected raw file not found.")
@data_dir_option
@out_dir_option
def convert_all_command(data_dir, out_dir):
    convert_all(Path(data_dir), Path(out_dir), list(REGISTRY))


@main.command("fetch", help="Fetch datasets (every registered one unless --dataset names some) from their pinned "
                            "public sources into --data-dir, verify their checksums, then convert them into --out-dir "
                            "(what `make data` runs).")
@options.dataset()
@data_dir_option
@out_dir_option
@click.option("--record-checksums", is_flag=True, help="Print the sha256 of every fetched file the registry has no "
                                                        "checksum for yet, to paste into converters/registry.py.")
@click.option("--no-convert", is_flag=True, help="Fetch only.")
def fetch_command(datasets, data_dir, out_dir, record_checksums, no_convert):
    from converters.fetch import FetchError, fetch_dataset

    names, failed = chosen(datasets), []
    if not no_convert:
        check_writable(Path(out_dir) / "counts.json")
    for name in names:  # one dataset that cannot be fetched (GMB behind its login) must not stop the others
        try:
            fetched = fetch_dataset(REGISTRY[name], Path(data_dir))
        except FetchError as error:
            failed.append(name)
            click.echo(f"not fetched: {error}", err=True)
            continue
        for item in fetched:
            if record_checksums and not item.recorded:
                click.echo(f"sha256 {item.sha256}  {item.path}  # recorded on first fetch", err=True)
    if not no_convert and set(names) - set(failed):
        convert_all(Path(data_dir), Path(out_dir), [name for name in names if name not in failed])
    if failed:
        raise DataError(data_dir, None, f"expected {', '.join(failed)} fetched (the reason is above)")


main.add_command(splits_command, "splits")
