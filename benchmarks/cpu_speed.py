"""CPU figures, measured on this run: scoring the CoNLL-2003 test set from generations, and converting GMB.

    llmner bench cpu [--data-dir ../shared/data] [--repeats 5] [--json OUT]

Scoring covers everything after the files are read: parsing each generation, grounding every mention, and the
entity, token, sentence and error-analysis scores. The generations are the gold answers with one entity in five
relabelled or dropped, so parsing and grounding see realistic, imperfect outputs.
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import time
from pathlib import Path

import click

from llmner.converters import conll, gmb
from llmner.core import options
from llmner.core.schemas import NerPrediction
from llmner.core.tasks import ner_prompt
from llmner.evaluators.data import Gold, Prediction
from llmner.evaluators.score import build_report


def imperfect_outputs(examples: list[dict], seed: int = 0) -> dict[str, Prediction]:
    rng = random.Random(seed)
    predictions = {}
    for example in examples:
        answer_lines = [a for a in example["messages"][-1]["content"].splitlines() if a != "none"]
        kept = [a if rng.random() > 0.1 else "MISC: " + a.split(": ", 1)[1] for a in answer_lines if rng.random() > 0.1]
        predictions[example["id"]] = NerPrediction(id=example["id"], output="\n".join(kept) or "none")
    return predictions


def timed(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


@click.command()
@options.data_dir()
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True,
              help="Timed runs (the median is kept).")
@options.json_report("Also write the figures here.")
def main(data_dir, repeats, json_path):
    """Time scoring CoNLL-2003 test from imperfect generations and converting GMB, on this machine's CPU."""
    data_dir = Path(data_dir)
    prompt = ner_prompt("conll2003")
    examples = list(conll.convert_file(data_dir / "conll2003" / "test.txt", prompt, "test"))
    gold = Gold("ner", {e["id"]: e["gold"] for e in examples}, "conll2003/test")
    predictions = imperfect_outputs(examples)
    scoring, report = timed(lambda: build_report(gold, predictions), repeats)
    conversion, count = timed(lambda: sum(1 for _ in gmb.convert_file(data_dir / "gmb" / "ner_dataset.csv",
                                                                       ner_prompt("gmb"), None)), max(1, repeats // 2))
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_implementation()} "
                   f"{platform.python_version()}",
        "scoring_conll2003_test_seconds": round(scoring, 4),
        "scoring_sentences": len(examples),
        "scoring_sentences_per_second": round(len(examples) / scoring),
        "scoring_f1_of_imperfect_outputs": round(report.headline.value, 4),
        "gmb_conversion_seconds": round(conversion, 3),
        "gmb_sentences": count,
        "gmb_sentences_per_second": round(count / conversion),
    }
    click.echo(f"scoring CoNLL-2003 test from generations: {scoring * 1000:.0f} ms for {len(examples)} sentences "
               f"({figures['scoring_sentences_per_second']:,}/s; median of {repeats}; F1 of the imperfect outputs "
               f"{figures['scoring_f1_of_imperfect_outputs']})")
    click.echo(f"converting GMB: {conversion:.2f} s for {count:,} sentences "
               f"({figures['gmb_sentences_per_second']:,}/s)")
    click.echo(f"machine: {figures['machine']}")
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=1) + "\n")

