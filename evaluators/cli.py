"""`python -m evaluators score --gold EXAMPLES --pred PREDICTIONS [--json REPORT]` (and `predict`, for `make eval`)."""

from __future__ import annotations

import json

import click

from converters.io import exits_on_data_error


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
@exits_on_data_error
def score(gold, pred, json_path, confusion_png, reliability_png, worst, submission):
    """Score predictions against gold examples; the task is read from the gold records."""
    from evaluators.data import load_gold, load_predictions
    from evaluators.tables import TABLES

    gold_set = load_gold(gold)
    report = score_report(gold_set, load_predictions(pred, gold_set), worst, confusion_png, reliability_png,
                          submission)
    click.echo(TABLES[gold_set.task](report))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1, ensure_ascii=False)


def score_report(gold_set, predictions, worst=10, confusion_png=None, reliability_png=None, submission=None) -> dict:
    from evaluators import mcq, plots, score as scoring
    from evaluators.ner import NONE

    if gold_set.task == "ner":
        report, analysis = scoring.score_ner(gold_set, predictions, worst)
        if confusion_png:
            labels = sorted({label for pair in analysis.confusion for label in pair} - {NONE}) + [NONE]
            plots.confusion_png(confusion_png, labels, labels,
                                [[analysis.confusion[g, p] for p in labels] for g in labels], "entities (exact spans)")
        return report
    if gold_set.task == "classification":
        report = scoring.score_classification(gold_set, predictions)
        if confusion_png:
            matrix = report["confusion"]
            plots.confusion_png(confusion_png, list(report["per_label"]), matrix["labels"], matrix["matrix"],
                                "classification")
        if reliability_png and "calibration" in report:
            plots.reliability_png(reliability_png, report["calibration"]["bins"], report["ece"], "reliability")
        return report
    report, rows = scoring.score_mcq(gold_set, predictions)
    if submission:
        mcq.write_submission(submission, rows)
    return report


@main.command("plot-loss")
@click.argument("output_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--png", default=None, help="Where to draw it (default: OUTPUT_DIR/loss.png).")
@exits_on_data_error
def plot_loss(output_dir, png):
    """Draw the training (and validation) loss of an Axolotl run from its debug.log."""
    from pathlib import Path

    from converters.io import DataError
    from evaluators import plots

    log = Path(output_dir) / "debug.log"
    series = plots.logged_losses(log.read_text(encoding="utf-8", errors="replace") if log.exists() else "")
    if not series["loss"]:
        raise DataError(log, None, "expected logged training losses (Axolotl's debug.log)")
    png = png or str(Path(output_dir) / "loss.png")
    plots.loss_png(png, series, Path(output_dir).resolve().parent.name + "/" + Path(output_dir).name)
    click.echo(f"loss: {series['loss'][0][1]:.3f} -> {series['loss'][-1][1]:.3f} over {len(series['loss'])} logged "
               f"steps; drawn in {png}")


def register_optional_commands() -> None:
    """Prediction needs torch; it is registered lazily so that scoring works (and --help is instant) without it."""
    from evaluators.predict import predict

    main.add_command(predict)


try:
    register_optional_commands()
except ImportError:  # pragma: no cover - only when prediction's module is absent
    pass
