"""Every scored run in one table: `llmner leaderboard REPORT.json ... [--output board.md] [--png P]`.

One row per report: the system and the data it was scored on (from the report's `system`, `dataset` and `split`; for
older reports the report's folder and the gold file's name), the headline figure with its 95% interval, precision and
recall (NER: strict entity micro; classification: macro), examples, missing predictions and unparseable outputs.
With `--pairs`, every two systems scored on the same data are compared (`pairwise`), Holm-adjusted across all pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmner.core.errors import DataError
from llmner.core.schemas import NOT_A_REPORT, Report, read_report


@dataclass
class Row:
    system: str
    data: str
    metric: str
    score: float
    interval: list[float] | None
    precision: float | None
    recall: float | None
    examples: int
    missing: int
    unparseable: int


def row(report: Report, path: str | Path) -> Row:
    """The leaderboard's row of one report.

    >>> from llmner.core.schemas import as_report
    >>> report = as_report({"task": "mcq", "examples": 4, "missing_predictions": 1, "accuracy": 0.5,
    ...                     "unparseable": 1, "accuracy_ci": [0.1, 0.9], "system": "coin", "dataset": "quiz",
    ...                     "split": "test"})
    >>> coin = row(report, "runs/coin/report.json")
    >>> coin.system, coin.data, coin.metric, coin.score, coin.interval, coin.unparseable
    ('coin', 'quiz/test', 'accuracy', 0.5, [0.1, 0.9], 1)
    """
    headline, scores = report.headline, report.scores
    if report.missing_predictions is None or report.unparseable is None:
        raise DataError(path, None, NOT_A_REPORT)
    dataset, split = report.recorded("dataset"), report.recorded("split")
    data = f"{dataset}/{split}" if dataset else Path(report.recorded("data") or "?").stem
    return Row(system=report.recorded("system") or Path(path).resolve().parent.name, data=data,
               metric=headline.name, score=headline.value, interval=headline.interval,
               precision=scores.precision if scores else None, recall=scores.recall if scores else None,
               examples=report.examples, missing=report.missing_predictions, unparseable=report.unparseable)


def load_rows(paths: list[str | Path]) -> list[Row]:
    """The rows of the given report files, grouped by data and best first."""
    rows = [row(read_report(path), path) for path in paths]
    return sorted(rows, key=lambda r: (r.data, r.metric, -r.score, r.system))


def _figure(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def markdown(rows: list[Row]) -> str:
    """A Markdown table; the interval is the 95% bootstrap interval over examples (empty where not computed)."""
    lines = ["| system | data | headline | score | 95% interval | P | R | examples | missing | unparseable |",
             "|---|---|---|---:|:---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        interval = f"[{r.interval[0]:.4f}, {r.interval[1]:.4f}]" if r.interval else ""
        lines.append(f"| {r.system} | {r.data} | {r.metric} | {r.score:.4f} | {interval} | {_figure(r.precision)} | "
                     f"{_figure(r.recall)} | {r.examples} | {r.missing} | {r.unparseable} |")
    return "\n".join(lines) + "\n"


def pairwise(paths: list[str | Path], resamples: int = 10_000, seed: int = 42) -> list[dict]:
    """Every pair of systems scored on the same gold file, by `compare`'s paired bootstrap on the headline figure
    (documents resampled where the examples have them), with p-values Holm-adjusted across all pairs of the board:
    with ten systems there are 45 pairs, and uncorrected some of them "differ" by luck alone."""
    from itertools import combinations

    from llmner.evaluators import significance
    from llmner.evaluators.data import load_gold, load_predictions
    from llmner.evaluators.score import PRIMARY, clusters, scored

    by_gold: dict[str, list[tuple[Row, Report, Path]]] = {}
    for path in paths:
        report = read_report(path)
        by_gold.setdefault(report.recorded("data") or str(path), []).append((row(report, path), report, Path(path)))
    pairs = []
    for data, entries in by_gold.items():
        if len(entries) < 2:
            continue  # alone on its data: nothing to compare it with
        for _, report, path in entries:
            if not report.recorded("predictions"):
                raise DataError(path, None, "expected a report that names its `predictions` (written by "
                                            "`llmner score` of this version) to compare pairs")
        gold = load_gold(data)
        _, codes = clusters(gold)
        entries.sort(key=lambda entry: (-entry[0].score, entry[0].system))
        stats = [scored(gold, load_predictions(report.recorded("predictions"), gold))[1] for _, report, _ in entries]
        primary = PRIMARY[gold.task]
        for (i, first), (j, second) in combinations(enumerate(entries), 2):
            result = significance.compare_runs([stats[j]], [stats[i]], resamples, seed, clusters=codes)[primary]
            pairs.append({"data": first[0].data, "metric": first[0].metric, "a": second[0].system,
                          "b": first[0].system, "difference": result["difference"],
                          "difference_ci": result["difference_ci"], "p_value": result["p_value"],
                          "resamples": resamples})
    for pair, adjusted in zip(pairs, significance.holm([pair["p_value"] for pair in pairs])):
        pair["p_value_holm"] = adjusted
    return pairs


def pairs_markdown(pairs: list[dict]) -> str:
    """The pairs as a Markdown table: the better system first, B − A with its 95% interval, p and Holm's p."""
    from llmner.evaluators.significance import p_text

    lines = ["| data | better (B) | than (A) | B − A | 95% interval | p | p (Holm, all pairs) |",
             "|---|---|---|---:|:---:|---:|---:|"]
    for pair in pairs:
        low, high = pair["difference_ci"]
        lines.append(f"| {pair['data']} | {pair['b']} | {pair['a']} | {pair['difference']:+.4f} | "
                     f"[{low:+.4f}, {high:+.4f}] | {p_text(pair['p_value'], pair['resamples'])} | "
                     f"{p_text(pair['p_value_holm'], pair['resamples'])} |")
    return "\n".join(lines) + "\n"
