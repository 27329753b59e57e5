"""The scorer's commands: `llmner score --data EXAMPLES --pred PREDICTIONS [--json REPORT]`, `compare`,
`leaderboard`, `plot-loss` and `card` (shared/CONTRACT.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from llmner.core import options
from llmner.core.answer_format import MCQ_RULES
from llmner.core.errors import DataError
from llmner.core.io import atomic_output, check_writable
from llmner.core.recipes import load_recipe
from llmner.core.schemas import Report, read_report
from llmner.evaluators.model_card import build_card

CLUSTER = click.option("--cluster", type=click.Choice(["doc", "example"]), default=None,
                       help="Resample whole documents (gold.document, kept from CoNLL's -DOCSTART-) or single examples "
                            "[default: doc where the examples have documents]")


def warn(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"warning: {line}", err=True)


@click.command()
@options.data(help="Gold examples JSONL (a converter's output).")
@options.pred(help="Predictions JSONL (raw outputs, spans or labels).")
@options.json_report(help="Write the contract's report here.")
@options.html(help="Write a self-contained page here: the figures, tables and every example with an error, "
                   "highlighted and filterable (needs spaCy, for displaCy).")
@click.option("--confusion-png", default=None, help="Draw the confusion matrix (NER: exact spans) here.")
@click.option("--reliability-png", default=None, help="Classification with confidences: reliability diagram.")
@click.option("--worst", default=10, show_default=True, type=click.IntRange(min=0),
              help="NER: how many worst examples the report lists.")
@click.option("--submission", default=None, help="Multiple choice: write submission.csv (ID, Answer) here.")
@options.resamples(1000, "Bootstrap resamples of the examples for the 95% intervals (0: no intervals).", minimum=0)
@options.seed(help="Seed of the bootstrap resamples.")
@CLUSTER
@click.option("--system", default=None, help="The system's name in the report (default: the predictions' folder).")
@click.option("--mcq-rule", type=click.Choice(MCQ_RULES), default="strict", show_default=True,
              help="Multiple choice: how a letter is read (last-letter: the seed's rule, to compare with its figures).")
def score(data, pred, json_path, html, confusion_png, reliability_png, worst, submission, resamples, seed, cluster,
          system, mcq_rule):
    """Score predictions against gold examples; the task is read from the gold records."""
    from llmner.evaluators.data import load_gold, load_predictions
    from llmner.evaluators.score import build_report, submission_rows
    from llmner.evaluators.tables import TABLES

    for path in (json_path, html, confusion_png, reliability_png, submission):
        if path:
            check_writable(path)  # before any scoring: an unwritable report must not cost a whole run
    gold_set = load_gold(data)
    predictions = load_predictions(pred, gold_set)
    report = build_report(gold_set, predictions, worst, resamples=resamples, seed=seed,
                          system=system or Path(pred).resolve().parent.name, mcq_rule=mcq_rule, cluster=cluster,
                          pred=pred)
    click.echo(TABLES[gold_set.task](report))
    warn(report.recorded("warnings") or [])
    if json_path:
        write_json(json_path, report.to_json())
    if html:
        from llmner.evaluators import html_report

        html_report.write_page(html, html_report.SCORE_PAGES[gold_set.task](report, gold_set, predictions))
        click.echo(f"wrote {html}", err=True)
    if confusion_png:
        draw_confusion(confusion_png, report)
    if reliability_png and report.recorded("calibration"):
        from llmner.evaluators import plots

        plots.reliability_png(reliability_png, report.recorded("calibration")["bins"], report.recorded("ece"),
                              "reliability")
    if submission and gold_set.task == "mcq":
        from llmner.evaluators import mcq

        mcq.write_submission(submission, submission_rows(gold_set, predictions, mcq_rule))


@click.command()
@options.data(help="Gold examples JSONL (a converter's output).")
@options.pred(help="Predictions of system A, then of system B (give --pred twice); several runs of one system "
                   "(training seeds) as one comma-separated list.", multiple=True)
@options.json_report(help="Write each figure's difference, interval and p-value here.")
@options.html(help="Write a self-contained page here: the differences, and the examples B fixed, broke or changed "
                   "(each side's first run), highlighted and filterable.")
@options.resamples(10_000, "Paired bootstrap resamples (the p-value's Monte-Carlo error is about 0.003 near 0.05 at "
                           "10,000).")
@options.seed(help="Seed of the resamples.")
@CLUSTER
def compare(data, preds, json_path, html, resamples, seed, cluster):
    """Do two systems differ on the same examples? B − A per headline figure, by paired bootstrap: both systems are
    scored on the same resamples of the examples (whole documents where the examples have them); the 95% interval
    of B − A and a two-sided p-value (below 0.05 only when that interval excludes 0), with its Monte-Carlo error.
    The task's primary figure (NER: strict entity micro F1; otherwise accuracy) is tested as it is; the other figures'
    p-values are also given Holm-adjusted. With several runs per system, each side is their mean ± sd, and the
    resamples draw runs as well as examples; with several on both sides, Welch's t-test over the runs' scores is
    added. Below 5 runs a side it warns: the test then compares checkpoints, not training procedures."""
    from llmner.core.schemas import Comparison
    from llmner.evaluators import significance
    from llmner.evaluators.data import load_gold, load_predictions
    from llmner.evaluators.score import PRIMARY, SMALL, clusters, document_warnings, scored
    from llmner.evaluators.tables import comparison_table

    if len(preds) != 2:
        raise DataError("--pred", None, f"expected exactly two prediction files (system A, then B), got {len(preds)}")
    runs = [[path for path in paths.split(",") if path] for paths in preds]
    if not all(runs):
        raise DataError("--pred", None, "expected at least one prediction file for each system")
    for path in (json_path, html):
        if path:
            check_writable(path)
    gold_set = load_gold(data)
    asked, (cluster, codes) = cluster, clusters(gold_set, cluster)
    loaded = [[load_predictions(path, gold_set) for path in side] for side in runs]
    stats = [[scored(gold_set, predictions)[1] for predictions in side] for side in loaded]
    figures = significance.compare_runs(stats[0], stats[1], resamples, seed, clusters=codes,
                                        primary=PRIMARY[gold_set.task])
    units = len(gold_set.examples) if codes is None else int(codes.max()) + 1
    result = {"task": gold_set.task, "examples": len(gold_set.examples), "data": data, "a": preds[0], "b": preds[1],
              "runs": {"a": len(runs[0]), "b": len(runs[1])},
              "method": f"paired bootstrap over {'documents' if codes is not None else 'examples'}"
                        + (", and over runs" if max(map(len, runs)) > 1 else ""),
              "difference": "b - a", "primary": PRIMARY[gold_set.task], "holm": "every figure but the primary",
              "bootstrap": {"resamples": resamples, "seed": seed, "cluster": cluster, "units": units},
              "p_value_floor": significance.p_floor(resamples), "figures": figures}
    result["warnings"] = (document_warnings(gold_set, asked, codes) + significance.runs_warnings(*map(len, runs))
                          + ([f"only {units} {'documents' if codes is not None else 'examples'}: a bootstrap from so "
                              "few is rough"] if units < SMALL else []))
    comparison = Comparison.model_validate(result)
    click.echo(comparison_table(comparison))
    warn(comparison.warnings)
    if json_path:
        write_json(json_path, comparison.to_json())
    if html:
        from llmner.evaluators import html_report

        html_report.write_page(html, html_report.compare_page(comparison, gold_set, loaded[0][0],
                                                              loaded[1][0]))
        click.echo(f"wrote {html}", err=True)


@click.command()
@click.argument("reports", nargs=-1, required=True)
@options.output("Also write the Markdown table here.", required=False)
@options.png(help="Draw the bar chart with error bars here.")
@click.option("--pairs", is_flag=True, help="Also test every pair of systems on the same data (paired bootstrap of "
                                            "the headline figure, Holm-adjusted across all pairs).")
@options.resamples(10_000, "With --pairs: paired bootstrap resamples.")
@options.seed(help="With --pairs: seed of the resamples.")
def leaderboard(reports, output, png, pairs, resamples, seed):
    """Gather report.json files of `score` into one table (Markdown) and a bar chart with 95% intervals; with
    --pairs, a second table says which systems on the same data differ (the intervals' overlap does not)."""
    from llmner.evaluators import leaderboard as board

    for path in (output, png):
        if path:
            check_writable(path)
    rows = board.load_rows(list(reports))
    table = board.markdown(rows)
    if pairs:
        table += "\n" + board.pairs_markdown(board.pairwise(list(reports), resamples, seed))
    click.echo(table, nl=False)
    if output:
        with atomic_output(output, encoding="utf-8") as handle:
            handle.write(table)
    if png:
        from llmner.evaluators import plots

        plots.leaderboard_png(png, [f"{r.system} ({r.data})" for r in rows], [r.score for r in rows],
                              [r.interval for r in rows], [r.metric for r in rows])


def write_json(path: str, report: dict) -> None:
    with atomic_output(path, encoding="utf-8") as handle:
        json.dump(report, handle, indent=1, ensure_ascii=False)


def draw_confusion(path: str, report: Report) -> None:
    from llmner.evaluators import plots

    confusion = report.recorded("confusion")
    if confusion is None:
        return
    if report.task == "ner":
        plots.confusion_png(path, confusion["labels"], confusion["labels"], confusion["matrix"],
                            "entities (exact spans)")
    else:
        plots.confusion_png(path, list(report.per_label), confusion["labels"], confusion["matrix"],
                            "classification")


@click.command("plot-loss")
@click.argument("output_dir")
@options.png(help="Where to draw it (default: OUTPUT_DIR/loss.png).")
def plot_loss(output_dir, png):
    """Draw the training (and validation) loss of an Axolotl run from its debug.log."""
    from llmner.evaluators import plots

    if not Path(output_dir).is_dir():
        raise DataError(output_dir, None, "expected the output_dir of an Axolotl run (a folder with debug.log)")
    png = png or str(Path(output_dir) / "loss.png")
    check_writable(png)
    log = Path(output_dir) / "debug.log"
    series = plots.logged_losses(log.read_text(encoding="utf-8", errors="replace") if log.exists() else "")
    if not series["loss"]:
        raise DataError(log, None, "expected logged training losses (Axolotl's debug.log)")
    plots.loss_png(png, series, Path(output_dir).resolve().parent.name + "/" + Path(output_dir).name)
    click.echo(f"loss: {series['loss'][0][1]:.3f} -> {series['loss'][-1][1]:.3f} over {len(series['loss'])} logged "
               f"steps; drawn in {png}")


@click.command()
@options.recipe(required=False)
@click.option("--report", required=True, help="report.json of `llmner score`.")
@options.data(help="The scored examples.")
@options.model(help="The model folder or hub id that was scored.")
@options.output("Where the card (README.md) goes.")
def card(recipe, report, data, model, output):
    """Write a Hugging Face model card (README.md with model-index metadata) for a scored model; RECIPE, if given,
    is the recipe it was trained with, named on the card."""

    check_writable(output)
    if recipe:
        load_recipe(recipe)  # a card is public: it must not name a recipe that is not there
    card = build_card(read_report(report), data, model, recipe)
    with atomic_output(output, newline="", encoding="utf-8") as handle:
        handle.write(str(card))
    click.echo(f"wrote {output}", err=True)
