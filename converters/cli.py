"""`llmner data`: `convert <dataset> --input RAW --output OUT.jsonl [--split ...]`, `fetch [--dataset NAME ...]` and
`convert-all` (`--data-dir RAW --out-dir data`, what `make data` runs), and `splits` (maintainers). A `convert`
command per registered dataset, and both loops, come from converters/registry.py and convert through its entries."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from llmner.converters import gmb
from llmner.converters.make_splits import main as splits_command
from llmner.converters.registry import REGISTRY, Dataset, conversion_plan, missing_files
from llmner.core import options
from llmner.core.answer_format import ANSWER_FORMATS
from llmner.core.errors import DataError
from llmner.core.io import check_writable, write_jsonl

input_option = click.option("--input", "input_path", required=True, help="Raw source file (or folder, for cmmlu).")
output_option = options.output("Examples JSONL to write.")
format_option = click.option("--answer-format", type=click.Choice(sorted(ANSWER_FORMATS)), default=None,
                             help="NER answer format (default: the dataset's own).")

# What each kind of dataset command reads, its --split, and the options it takes beyond --input and --output: each
# option is a keyword of the entry's `convert` (converters/registry.py). The splits are those of the ids and of
# data/<dataset>/<split>.jsonl (CONTRACT.md), so that a file converted by hand has the ids `make data` gives it.
COMMANDS = {
    "column": ("A CoNLL column file (or the Hub's Parquet split that fetch saves)", options.split(), [
        click.option("--scheme", type=click.Choice(["iob2", "iob1"]), default="iob2", show_default=True,
                     help="Tag scheme of the file; IOB1 is converted to IOB2."),
        format_option]),
    "seeded": ("The dataset's one raw file (--split all: every sentence)",
               options.split(extra=("all",)), [format_option]),
    "classification": ("A news file (zero-, one- or few-shot)", options.split(), [
        click.option("--classes", default=None,
                     help="Label names, one per line (default: the dataset's; THUCNews: class.txt beside the input)."),
        click.option("--shots", default=0, show_default=True, help="Solved examples put before each text."),
        click.option("--shot-pool", default=None, help="File the shots are drawn from; never the evaluated file."),
        options.seed(help="Seed of the shots drawn.")]),
    "plain": ("A raw file", options.split(), []),
}


def report(output: str, count: int) -> None:
    click.echo(f"wrote {count} examples to {output}", err=True)


@click.group("data")
def main():
    """Fetch the pinned datasets and convert them into the chat-format JSONL of shared/CONTRACT.md."""


@main.group("convert")
def convert():
    """Convert one raw file of a dataset into examples JSONL (what `convert-all` writes for that split)."""


def dataset_command(entry: Dataset) -> click.Command:
    """`llmner data convert <entry.name>`: the entry's `examples` of one raw file, written to --output."""
    what, split_option, extra = COMMANDS[entry.command]
    raw = " / ".join(dict.fromkeys(name for names in entry.files.values() for name in names))

    def command(input_path, output, split, **chosen):
        check_writable(output)
        report(output, write_jsonl(output, entry.examples(input_path, split, **chosen)))
        if entry.name == "gmb" and gmb.truncated_at_row_limit(input_path):
            click.echo("known defect: the file ends at Excel's row limit, so its last sentence is truncated "
                       "(1 sentence, kept as is)", err=True)

    for decorate in reversed([input_option, output_option, split_option, *extra]):
        command = decorate(command)
    return convert.command(entry.name, help=f"{what} -> examples of {entry.name} ({raw}; {entry.split_policy}).",
                           short_help=f"{what} -> examples")(command)


for _entry in REGISTRY.values():
    dataset_command(_entry)


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
    from llmner.converters.fetch import FetchError, fetch_dataset

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
