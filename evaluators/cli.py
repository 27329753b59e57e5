"""`python -m evaluators score --gold EXAMPLES --pred PREDICTIONS [--json REPORT]`, and `plot-loss`."""

from __future__ import annotations

import json

import click

from core.answer_format import MCQ_RULES
from core.io import atomic_output, check_writable, exits_on_data_error


@click.group()
def main():
    """Strict scoring of NER, classification and multiple-choice predictions (shared/CONTRACT.md)."""


@main.command()
@click.option("--gold", required=True, help="Examples JSONL written by a converter.")
@click.option("--pred", required=True, help="Predictions JSONL (raw outputs, spans or labels).")
@click.option("--json", "json_path", default=None, help="Write the contract's report here.")
@click.option("--confusion-png", default=None, help="Draw the confusion matrix (NER: exact spans) here.")
@click.option("--reliability-png", default=None, help="Classification with confidences: reliability diagram.")
@click.option("--worst", default=10, show_default=True, help="NER: how many worst examples the report lists.")
@click.option("--submission", default=None, help="Multiple choice: write submission.csv (ID, Answer) here.")
@click.option("--mcq-rule", type=click.Choice(MCQ_RULES), default="strict", show_default=True,
              help="Multiple choice: how a letter is read (last-letter: the seed's rule, to compare with its figures).")
@exits_on_data_error
def score(gold, pred, json_path, confusion_png, reliability_png, worst, submission, mcq_rule):
    """Score predictions against gold examples; the task is read from the gold records."""
    from evaluators.data import load_gold, load_predictions
    from evaluators.score import build_report, submission_rows
    from evaluators.tables import TABLES

    for path in (json_path, confusion_png, reliability_png, submission):
        if path:
            check_writable(path)  # before any scoring: an unwritable report must not cost a whole run
    gold_set = load_gold(gold)
    predictions = load_predictions(pred, gold_set)
    report = build_report(gold_set, predictions, worst, mcq_rule)
    click.echo(TABLES[gold_set.task](report))
    if json_path:
        write_json(json_path, report)
    if confusion_png:
        draw_confusion(confusion_png, report)
    if reliability_png and "calibration" in report:
        from evaluators import plots

        plots.reliability_png(reliability_png, report["calibration"]["bins"], report["ece"], "reliability")
    if submission and gold_set.task == "mcq":
        from evaluators import mcq

        mcq.write_submission(submission, submission_rows(gold_set, predictions, mcq_rule))


def write_json(path: str, report: dict) -> None:
    with atomic_output(path, encoding="utf-8") as handle:
        json.dump(report, handle, indent=1, ensure_ascii=False)


def draw_confusion(path: str, report: dict) -> None:
    from evaluators import plots

    confusion = report.get("confusion")
    if confusion is None:
        return
    if report["task"] == "ner":
        plots.confusion_png(path, confusion["labels"], confusion["labels"], confusion["matrix"],
                            "entities (exact spans)")
    else:
        plots.confusion_png(path, list(report["per_label"]), confusion["labels"], confusion["matrix"],
                            "classification")


@main.command("plot-loss")
@click.argument("output_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--png", default=None, help="Where to draw it (default: OUTPUT_DIR/loss.png).")
@exits_on_data_error
def plot_loss(output_dir, png):
    """Draw the training (and validation) loss of an Axolotl run from its debug.log."""
    from pathlib import Path

    from core.io import DataError
    from evaluators import plots

    log = Path(output_dir) / "debug.log"
    series = plots.logged_losses(log.read_text(encoding="utf-8", errors="replace") if log.exists() else "")
    if not series["loss"]:
        raise DataError(log, None, "expected logged training losses (Axolotl's debug.log)")
    png = png or str(Path(output_dir) / "loss.png")
    plots.loss_png(png, series, Path(output_dir).resolve().parent.name + "/" + Path(output_dir).name)
    click.echo(f"loss: {series['loss'][0][1]:.3f} -> {series['loss'][-1][1]:.3f} over {len(series['loss'])} logged "
               f"steps; drawn in {png}")


@main.command()
@click.option("--report", required=True, help="report.json of `score`.")
@click.option("--data", required=True, help="The scored examples.")
@click.option("--model", required=True, help="The model folder or hub id that was scored.")
@click.option("--recipe", default=None, help="The recipe it was trained with.")
@click.option("--output", required=True, help="Where the card (README.md) goes.")
@exits_on_data_error
def card(report, data, model, recipe, output):
    """Write a Hugging Face model card (README.md with model-index metadata) for a scored model."""
    from core.io import read_json
    from evaluators.model_card import build_card

    check_writable(output)
    card = build_card(read_json(report), report, data, model, recipe)
    with atomic_output(output, newline="", encoding="utf-8") as handle:
        handle.write(str(card))
    click.echo(f"wrote {output}", err=True)
