"""Plain counts to plain numbers: precision, recall, F1 and their averages."""

from __future__ import annotations

MISSING = "(missing)"  # what an example with no prediction is scored as: wrong, and counted once, as missing


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1; a ratio with a zero denominator is 0 (as seqeval and sklearn report it).

    >>> prf(tp=3, fp=1, fn=2)
    {'precision': 0.75, 'recall': 0.6, 'f1': 0.6666666666666665}
    >>> prf(0, 0, 0)
    {'precision': 0.0, 'recall': 0.0, 'f1': 0.0}
    """
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def macro(per_label: dict[str, dict[str, float]]) -> dict[str, float]:
    """Unweighted mean over the labels given (callers decide which labels count), summed as numpy sums (pairwise),
    so that it equals seqeval's and sklearn's macro average to the last digit."""
    import numpy

    if not per_label:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    return {key: float(numpy.mean([scores[key] for scores in per_label.values()]))
            for key in ("precision", "recall", "f1")}
