"""How sure a score is: bootstrap intervals over examples, and a paired bootstrap between two systems.

Every headline figure is a function of sums over examples (micro F1 of summed tp/fp/fn, accuracy of summed correct
flags, macro F1 of summed per-label counts). So each example is reduced once to a row of counts (`Stats.rows`), a
resample is a vector of how often each example was drawn, and the sums of all resamples are one matrix product:
(resamples × examples) counts @ (examples × columns) rows. Every figure of every resample then costs a few array
operations, whatever the figure.

The resamples are drawn with `numpy.random.default_rng(seed).integers(0, n, (rows, n))`, `CHUNK` examples' worth of
rows at a time (`index_chunks`), so the same seed gives the same intervals on any machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy

LEVEL = 0.95
# Draws per block of resamples: the counts are scattered at random into a (rows × n) block, which is several times
# faster while the block stays in the CPU cache (~400 KB) than on one (resamples × n) matrix; bounded for any n.
CHUNK = 50_000

Figure = Callable[[numpy.ndarray], numpy.ndarray]  # sums (resamples × columns) -> one value per resample


@dataclass
class Stats:
    """Per-example counts (one row per example) and the headline figures computed from their column sums.

    Figure names are the report's paths ("entity.micro.f1"); the interval goes beside the figure as `<name>_ci`.
    """

    rows: numpy.ndarray  # examples × columns
    figures: dict[str, Figure]

    def values(self, sums: numpy.ndarray) -> dict[str, numpy.ndarray]:
        return {name: figure(sums) for name, figure in self.figures.items()}


def ratio(numerator: numpy.ndarray, denominator: numpy.ndarray) -> numpy.ndarray:
    """numerator / denominator, and 0 where the denominator is 0 (as `metrics.prf` reports it).

    >>> ratio(numpy.array([1.0, 3.0]), numpy.array([4.0, 0.0])).tolist()
    [0.25, 0.0]
    """
    numerator, denominator = numpy.broadcast_arrays(numpy.asarray(numerator, float), numpy.asarray(denominator, float))
    return numpy.divide(numerator, denominator, out=numpy.zeros(numerator.shape), where=denominator != 0)


def prf(tp: numpy.ndarray, fp: numpy.ndarray, fn: numpy.ndarray) -> tuple[numpy.ndarray, ...]:
    """Precision, recall and F1 elementwise, with `metrics.prf`'s formulas (so full-sample values are equal)."""
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return precision, recall, ratio(2 * precision * recall, precision + recall)


def micro_figures(prefix: str, first: int, names: tuple[str, ...] = ("precision", "recall", "f1")) -> dict:
    """Figures of tp, fp, fn in columns first, first + 1, first + 2."""
    def figure(index):
        return lambda sums: prf(sums[..., first], sums[..., first + 1], sums[..., first + 2])[index]

    keys = ("precision", "recall", "f1")
    return {f"{prefix}.{name}": figure(keys.index(name)) for name in names}


def ner_stats(entity: numpy.ndarray, token: numpy.ndarray, sentence_correct: numpy.ndarray) -> Stats:
    """Entity tp/fp/fn, token tp/fp/fn (examples × 3 each) and exact-match flags of each example.

    >>> stats = ner_stats(numpy.array([[1, 1, 1], [2, 0, 0]]), numpy.array([[2, 1, 1], [3, 0, 0]]),
    ...                   numpy.array([False, True]))
    >>> for name, value in stats.values(stats.rows.sum(axis=0)).items():
    ...     print(f"{name} {value:.4f}")
    entity.micro.precision 0.7500
    entity.micro.recall 0.7500
    entity.micro.f1 0.7500
    token.micro.f1 0.8333
    sentence_accuracy 0.5000
    """
    rows = numpy.column_stack([entity, token, sentence_correct]).astype(float)
    return Stats(rows, {**micro_figures("entity.micro", 0), **micro_figures("token.micro", 3, ("f1",)),
                        "sentence_accuracy": lambda sums: sums[..., 6] / len(rows)})


def classification_stats(gold: numpy.ndarray, predicted: numpy.ndarray, labels: int) -> Stats:
    """Label indices (gold, and predicted with -1 for invalid) -> accuracy and macro F1 over all `labels` labels.

    Columns: correct, then tp, fp and fn of each label (one-hot per example).
    """
    correct = gold == predicted
    eye = numpy.eye(labels)
    tp = eye[gold] * correct[:, None]
    fp = numpy.where((predicted >= 0) & ~correct, 1.0, 0.0)[:, None] * eye[numpy.maximum(predicted, 0)]
    fn = eye[gold] * ~correct[:, None]
    rows = numpy.column_stack([correct, tp, fp, fn]).astype(float)

    def macro_f1(sums):
        counts = sums[..., 1:].reshape(*sums.shape[:-1], 3, labels)
        return prf(counts[..., 0, :], counts[..., 1, :], counts[..., 2, :])[2].mean(axis=-1)

    return Stats(rows, {"accuracy": lambda sums: sums[..., 0] / len(rows), "macro.f1": macro_f1})


def mcq_stats(correct: numpy.ndarray, answered: numpy.ndarray) -> Stats:
    """Accuracy over the examples with a gold answer."""
    rows = numpy.column_stack([correct, answered]).astype(float)
    return Stats(rows, {"accuracy": lambda sums: ratio(sums[..., 0], sums[..., 1])})


def index_chunks(n: int, resamples: int, seed: int) -> Iterator[numpy.ndarray]:
    """The resamples' example indices, a block of rows at a time (bounded memory for any n)."""
    rng = numpy.random.default_rng(seed)
    rows = max(1, CHUNK // max(n, 1))
    for start in range(0, resamples, rows):
        yield rng.integers(0, n, size=(min(rows, resamples - start), n))


def resampled_sums(rows: list[numpy.ndarray], resamples: int, seed: int) -> list[numpy.ndarray]:
    """For each per-example matrix (all with the same examples), its column sums in each resample (resamples × k).

    Several matrices share the same resamples: that is what makes a comparison paired.
    """
    n = len(rows[0])
    sums = [[] for _ in rows]
    for indices in index_chunks(n, resamples, seed):
        offsets = numpy.arange(len(indices))[:, None] * n
        counts = numpy.bincount((indices + offsets).ravel(), minlength=indices.size).reshape(indices.shape)
        for out, matrix in zip(sums, rows):
            out.append(counts @ matrix)
    return [numpy.concatenate(out) for out in sums]


def percentile_interval(values: numpy.ndarray, level: float = LEVEL) -> list[float]:
    tail = (1 - level) / 2 * 100
    return [float(v) for v in numpy.percentile(values, [tail, 100 - tail])]


def intervals(stats: Stats, resamples: int = 1000, seed: int = 42, level: float = LEVEL) -> dict[str, list[float]]:
    """A percentile bootstrap interval for each figure, resampling examples with replacement.

    >>> stats = mcq_stats(numpy.array([1, 0] * 50), numpy.ones(100))
    >>> low, high = intervals(stats, resamples=2000, seed=0)["accuracy"]
    >>> 0.38 < low < 0.42 and 0.58 < high < 0.62
    True
    """
    if not len(stats.rows):
        return {}
    (sums,) = resampled_sums([stats.rows], resamples, seed)
    return {name: percentile_interval(values, level) for name, values in stats.values(sums).items()}


def paired_bootstrap(a: Stats, b: Stats, resamples: int = 1000, seed: int = 42, level: float = LEVEL) -> dict:
    """B − A per figure on the same resamples of the same examples: the difference, its interval and a p-value.

    The two-sided p-value is the smallest 1 − level at which the percentile interval of B − A would exclude 0:
    twice the share of resampled differences on the far side of 0 (capped at 1), so p < 0.05 exactly when the
    95% interval lies on one side of 0.

    >>> a = mcq_stats(numpy.array([1, 0] * 200), numpy.ones(400))
    >>> b = mcq_stats(numpy.array([1, 1] * 200), numpy.ones(400))
    >>> result = paired_bootstrap(a, b, resamples=500, seed=0)["accuracy"]
    >>> result["difference"], result["p_value"] < 0.01
    (0.5, True)
    """
    if a.rows.shape[0] != b.rows.shape[0]:
        raise ValueError("a paired comparison needs the same examples on both sides")
    sums_a, sums_b = resampled_sums([a.rows, b.rows], resamples, seed)
    full_a, full_b = a.values(a.rows.sum(axis=0)), b.values(b.rows.sum(axis=0))
    resampled_a, resampled_b = a.values(sums_a), b.values(sums_b)
    result = {}
    for name in a.figures:
        differences = resampled_b[name] - resampled_a[name]
        tail = min(numpy.mean(differences <= 0), numpy.mean(differences >= 0))
        result[name] = {"a": float(full_a[name]), "b": float(full_b[name]),
                        "difference": float(full_b[name] - full_a[name]),
                        "difference_ci": percentile_interval(differences, level),
                        "p_value": float(min(1.0, 2 * tail))}
    return result
