"""The shared evaluator's report of a baseline's predictions, through its functions (what `llmner score` writes)."""

from __future__ import annotations


def report_of(gold_path, pred_path) -> dict:
    from llmner.evaluators.data import load_gold, load_predictions
    from llmner.evaluators.score import build_report

    gold = load_gold(gold_path)
    return build_report(gold, load_predictions(pred_path, gold), resamples=0, pred=str(pred_path)).to_json()
