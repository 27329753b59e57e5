"""Classification: accuracy, macro and per-label P/R/F1, confusion, and calibration where confidences exist."""

from __future__ import annotations

from collections import Counter

from llmner.evaluators.metrics import MISSING, macro, prf

INVALID = "(invalid)"  # an answer that names no label (a missing prediction is MISSING, counted once, as missing)
BINS = 15


def classification_scores(gold: list[str], predicted: list[str], labels: list[str]) -> dict:
    correct = sum(g == p for g, p in zip(gold, predicted))
    confusion = Counter(zip(gold, predicted))
    per_label = {}
    for label in labels:
        tp = confusion[label, label]
        fp = sum(n for (g, p), n in confusion.items() if p == label and g != label)
        fn = sum(n for (g, p), n in confusion.items() if g == label and p != label)
        per_label[label] = prf(tp, fp, fn) | {"support": tp + fn}
    columns = labels + [column for column in (INVALID, MISSING) if column in predicted]
    return {"accuracy": correct / len(gold) if gold else 0.0, "invalid": predicted.count(INVALID),
            "macro": macro(per_label), "per_label": per_label,
            "confusion": {"labels": columns, "matrix": [[confusion[g, p] for p in columns] for g in labels]}}


def calibration(correct: list[bool], confidence: list[float], bins: int = BINS) -> dict:
    """Expected calibration error over equal-width bins, and accuracy per bin (for the reliability diagram)."""
    table = [{"low": b / bins, "high": (b + 1) / bins, "count": 0, "accuracy": 0.0, "confidence": 0.0}
             for b in range(bins)]
    for ok, conf in zip(correct, confidence):
        row = table[min(int(conf * bins), bins - 1)]
        row["count"] += 1
        row["accuracy"] += ok
        row["confidence"] += conf
    ece = 0.0
    for row in table:
        if row["count"]:
            row["accuracy"] /= row["count"]
            row["confidence"] /= row["count"]
            ece += row["count"] / len(correct) * abs(row["accuracy"] - row["confidence"])
    return {"ece": ece, "bins": table, "examples": len(correct)}
