"""`python -m converters <dataset> --input PATH --output OUT.jsonl [--split ...]`, and `all` for `make data`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from converters import classification, conll, gmb, mcq, zh_ner
from core.answer_format import ANSWER_FORMATS
from core.io import DataError, exits_on_data_error, write_jsonl
from core.tasks import CLASSIFICATION_LABELS, ner_prompt

SPLITS = click.Choice(["train", "validation", "test"])
input_option = click.option("--input", "input_path", required=True, help="Source file (or folder, for mcq).")
output_option = click.option("--output", required=True, type=click.Path(dir_okay=False), help="Examples JSONL.")
format_option = click.option("--answer-format", type=click.Choice(sorted(ANSWER_FORMATS)), default=None,
                             help="NER answer format (default: the dataset's own).")


def report(output: str, count: int) -> None:
    click.echo(f"wrote {count} examples to {output}", err=True)


@click.group()
def main():
    """Convert raw datasets into the chat-format JSONL of shared/CONTRACT.md."""


def column_command(dataset: str):
    @main.command(dataset, help=f"{dataset} CoNLL column file (or --from-hub) -> examples.")
    @input_option
    @output_option
    @click.option("--split", type=SPLITS, default="test", show_default=True, help="Split name used in the ids.")
    @click.option("--scheme", type=click.Choice(["iob2", "iob1"]), default="iob2", show_default=True,
                  help="Tag scheme of the file; IOB1 is converted to IOB2.")
    @click.option("--from-hub", is_flag=True, help="Treat --input as a Hugging Face dataset id (needs internet).")
    @format_option
    @exits_on_data_error
    def command(input_path, output, split, scheme, from_hub, answer_format):
        prompt = ner_prompt(dataset, answer_format)
        examples = (conll.convert_hub(input_path, prompt, split) if from_hub
                    else conll.convert_file(input_path, prompt, split, scheme))
        report(output, write_jsonl(output, examples))

    return command


for _dataset in ("conll2003", "wnut17"):
    column_command(_dataset)


def seeded_split_command(name: str, module, source_help: str):
    @main.command(name, help=f"{source_help} -> examples of one split of the fixed seed-42 80/10/10 split.")
    @input_option
    @output_option
    @click.option("--split", type=click.Choice(["train", "validation", "test", "all"]), default="train",
                  show_default=True)
    @format_option
    @exits_on_data_error
    def command(input_path, output, split, answer_format):
        examples = module.convert_file(input_path, ner_prompt(name, answer_format), None if split == "all" else split)
        report(output, write_jsonl(output, examples))
        if name == "gmb" and gmb.truncated_at_row_limit(input_path):
            click.echo("known defect: the file ends at Excel's row limit, so its last sentence is truncated "
                       "(1 sentence, kept as is)", err=True)

    return command


seeded_split_command("gmb", gmb, "GMB ner_dataset.csv")
seeded_split_command("zh_ner", zh_ner, "CCFBDCI jsonl")


def guess_source(path: str) -> str:
    return "ag_news" if path.endswith(".csv") else "zh_news"


def class_names(source: str, input_path: str, classes: str | None) -> tuple[str, ...]:
    if classes:
        return classification.read_class_names(classes)
    sibling = Path(input_path).with_name("class.txt")
    if source == "zh_news" and sibling.exists():
        return classification.read_class_names(sibling)
    return CLASSIFICATION_LABELS[source]


@main.command("classification", help="AG News CSV or THUCNews headlines -> examples (zero-, one- or few-shot).")
@input_option
@output_option
@click.option("--split", type=SPLITS, default="test", show_default=True)
@click.option("--source", type=click.Choice(["ag_news", "zh_news"]), default=None,
              help="Layout of the input (default: .csv is AG News, anything else THUCNews).")
@click.option("--classes", default=None, help="Label names, one per line (THUCNews: class.txt beside the input).")
@click.option("--shots", default=0, show_default=True, help="Solved examples put before each text.")
@click.option("--shot-pool", default=None, help="File the shots are drawn from; never the evaluated file.")
@click.option("--seed", default=42, show_default=True)
@exits_on_data_error
def classification_command(input_path, output, split, source, classes, shots, shot_pool, seed):
    source = source or guess_source(input_path)
    labels = class_names(source, input_path, classes)
    report(output, write_jsonl(output, classification_examples(input_path, source, labels, split, shots,
                                                                shot_pool, seed)))


def classification_examples(input_path, source, labels, split, shots=0, shot_pool=None, seed=42):
    drawn = []
    if shots:
        if not shot_pool:
            raise DataError(input_path, None, "--shots needs --shot-pool, a file other than the evaluated one")
        if Path(shot_pool).resolve() == Path(input_path).resolve():
            raise DataError(shot_pool, None, "expected a shot pool other than the evaluated file")
        pool = [(text, label) for _, text, label in classification.read_source(shot_pool, source, labels)]
        drawn = classification.draw_shots(pool, shots, seed)
    return classification.convert_file(input_path, source, labels, split, drawn)


@main.command("mcq", help="4-option multiple-choice CSV (or a folder of them) -> examples.")
@input_option
@output_option
@click.option("--split", type=SPLITS, default="test", show_default=True)
@click.option("--name", default="cmmlu", show_default=True, help="Dataset name used in the ids.")
@exits_on_data_error
def mcq_command(input_path, output, split, name):
    report(output, write_jsonl(output, mcq.convert_path(input_path, name, split)))


@main.command("all", help="Convert every dataset found in DATA_DIR into OUT (what `make data` runs).")
@click.option("--data-dir", default="../shared/data", show_default=True)
@click.option("--out", default="data", show_default=True)
@exits_on_data_error
def all_command(data_dir, out):
    from converters.plan import conversion_plan
    from tqdm import tqdm

    steps = conversion_plan(Path(data_dir))
    if not steps:
        raise DataError(data_dir, None, "expected dataset folders (conll2003, gmb, zh_ner, ...); found none")
    counts = {}
    for target, make_examples in tqdm(steps, desc="make data", unit="file", file=sys.stderr):
        counts[target] = write_jsonl(Path(out) / target, make_examples())
    summary = Path(out) / "counts.json"
    summary.write_text(json.dumps(counts, indent=1) + "\n")
    for target, count in counts.items():
        click.echo(f"{count:>7}  {Path(out) / target}")
