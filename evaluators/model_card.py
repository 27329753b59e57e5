"""A Hugging Face model card with the score: README.md with `model-index` metadata, written beside report.json.

    llmner card [RECIPE] --report R/report.json --data data/conll2003/test.jsonl --model M --output R/README.md
    llmner push --model M --repo user/name --card R/README.md [--dry-run]

Built with huggingface_hub's ModelCard / ModelCardData / EvalResult only (no model library): the task, the dataset and
split (from the example ids, `<dataset>/<split>/<index>`), the headline figure (NER: strict entity micro F1, equal to
seqeval strict IOB2; classification and multiple choice: accuracy), the scorer and its version, and the recipe.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.ids import parse_id
from llmner.core.io import read_jsonl
from llmner.core.schemas import Report
from llmner.core.text_files import numbered_lines

TASK_TYPES = {"ner": ("token-classification", "Named entity recognition"),
              "classification": ("text-classification", "Text classification"),
              "mcq": ("multiple-choice", "Multiple choice")}
SCORER = "llm-ner-recipes evaluators"


def scorer_version() -> str:
    try:
        return version("llm-ner-recipes")
    except PackageNotFoundError:  # a checkout that was never installed
        return "unknown"


def dataset_and_split(data: str | Path) -> tuple[str, str]:
    """The dataset and split the card names, from the first example's id: the card needs a converter's id
    (`<dataset>/<split>/<index>`); any other id is a good one that just does not say."""
    for line, example in read_jsonl(data):
        parsed = parse_id(example.get("id"), data, line)
        if parsed.dataset is None:
            raise DataError(data, line, f"expected ids '<dataset>/<split>/<index>' to name the dataset and split on "
                                        f"the card, got {parsed.value!r}")
        return parsed.dataset, parsed.split
    raise DataError(data, None, "expected at least one example")


def build_card(report: Report, data: str | Path, model: str, recipe: str | None = None):
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    task_type, task_name = TASK_TYPES[report.task]
    dataset, split = dataset_and_split(data)
    _, metric_type, metric_name, value, _ = report.headline
    name = Path(model.rstrip("/")).name
    result = EvalResult(task_type=task_type, task_name=task_name, dataset_type=dataset, dataset_name=dataset,
                        dataset_split=split, metric_type=metric_type, metric_name=metric_name, metric_value=value,
                        metric_config="strict" if report.task == "ner" else None,
                        metric_args={"scorer": SCORER, "scorer_version": scorer_version(),
                                     "examples": report.examples})
    data_card = ModelCardData(model_name=name, eval_results=[result], datasets=[dataset], tags=[report.task],
                              recipe=recipe)
    body = "\n".join([
        f"# {name}", "",
        f"{task_name} on **{dataset}** ({split} split, {report.examples} examples): "
        f"**{metric_name} {value:.4f}**, scored by {SCORER} {scorer_version()}"
        + (" (strict: start, end and label all equal, as seqeval mode=strict, IOB2)." if report.task == "ner"
           else "."), "",
        f"Trained with the recipe `{recipe}`." if recipe else "The recipe was not recorded.", "",
        "The full report (per label, confidence intervals) is report.json beside this card."])
    return ModelCard(f"---\n{data_card.to_yaml()}\n---\n\n{body}\n")


@click.command()
@options.model(help="The model folder to upload.")
@click.option("--repo", required=True, help="Hub repository id, e.g. user/name.")
@click.option("--card", default=None, help="The card `make eval` wrote (default: the model folder's own README.md).")
@click.option("--private", is_flag=True, help="Create the repository private.")
@options.dry_run(help="Say what would be uploaded; contact nothing.")
def push(model, repo, card, private, dry_run):
    """Upload the model folder and its card (as README.md) with huggingface_hub (HF_ENDPOINT selects the Hub)."""
    if not Path(model).is_dir():
        raise DataError(model, None, "expected a model folder to upload")
    if card and not Path(card).is_file():
        raise DataError(card, None, "expected the model card file (README.md) `llmner card` wrote")
    if card:
        for _ in numbered_lines(card):  # read even in a dry run: the Hub shows the card as UTF-8 text
            pass
    files = sorted(p.relative_to(model).as_posix() for p in Path(model).rglob("*") if p.is_file())
    if not files:
        raise DataError(model, None, "expected at least one file in the model folder to upload")
    click.echo(f"{'would upload' if dry_run else 'uploading'} {len(files)} files of {model} to {repo}"
               + (f", with {card} as README.md" if card else ""), err=True)
    if dry_run:
        return
    from huggingface_hub import HfApi

    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT"))
    api.create_repo(repo, private=private, exist_ok=True)
    api.upload_folder(repo_id=repo, folder_path=model, commit_message="Upload model")
    if card:
        api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo, commit_message="Model card")
