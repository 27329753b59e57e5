"""Do two systems differ? A paired bootstrap of B − A whose p-value is never 0, with its Monte-Carlo error; Holm's
adjustment for every figure but the primary one; several training runs per system (a seed-and-example bootstrap).

Both systems are scored on the same resamples of the examples (or of whole documents), which is what makes the test
paired. With several runs per system (training seeds), each resample also draws, with replacement and independently
for A and B, which runs it averages: the interval and p-value then cover both the luck of the test sentences and the
luck of the training seed, the two things a reader's own rerun would change.
"""

from __future__ import annotations

import numpy

from llmner.evaluators.bootstrap import LEVEL, Stats, percentile_interval, resampled_sums, units


def two_sided_p(differences: numpy.ndarray, axis: int = 0) -> numpy.ndarray:
    """Twice the one-sided share: 2 (k + 1) / (B + 1), k the count of resampled differences on the far side of 0
    (Davison & Hinkley 1997, ch. 4), capped at 1. B resamples can never show p = 0: the floor is 2 / (B + 1).

    >>> two_sided_p(numpy.array([0.1, 0.2, 0.3])).tolist(), two_sided_p(numpy.zeros(9)).tolist()
    (0.5, 1.0)
    """
    resamples = differences.shape[axis]
    far_side = numpy.minimum((differences <= 0).sum(axis), (differences >= 0).sum(axis))
    return numpy.minimum(1.0, 2 * (far_side + 1) / (resamples + 1))


def monte_carlo_error(p: float, resamples: int) -> float:
    """The standard error of a resampled p-value from its finite number of resamples. p is twice a binomial share
    q = p / 2, so its variance is 4 q (1 - q) / B = p (2 - p) / B: near 0.05 the error is 0.010 at 1,000 resamples
    and 0.003 at 10,000, and at p = 1 it is 1 / sqrt(B), not 0.

    >>> round(monte_carlo_error(0.05, 10_000), 4), monte_carlo_error(1.0, 10_000)
    (0.0031, 0.01)
    """
    return float(numpy.sqrt(p * (2 - p) / resamples))


def p_floor(resamples: int) -> float:
    """The smallest p-value B resamples can show: none on the far side of 0, 2 (0 + 1) / (B + 1)."""
    return 2 / (resamples + 1)


def p_text(p: float, resamples: int) -> str:
    """A resampled p-value as the tables print it (one decision for `compare`, `leaderboard` and bench-real): at the
    floor a bound, `≤ 2 / (B + 1)`, since the test cannot tell smaller p-values apart; four decimals, or two
    significant digits below 0.001, so that no p-value ever reads 0.

    >>> p_text(2 / 10_001, 10_000), p_text(2 / 50_001, 50_000), p_text(4 / 50_001, 50_000), p_text(0.2931, 10_000)
    ('≤ 0.0002', '≤ 0.00004', '0.00008', '0.2931')
    """
    return f"≤ {small_text(p_floor(resamples))}" if p <= p_floor(resamples) * (1 + 1e-9) else small_text(p)


def small_text(value: float) -> str:
    """Four decimals, or two significant digits below 0.001 (a p-value or its error is then never printed as 0).

    >>> small_text(0.05), small_text(0.0000399), small_text(0.0)
    ('0.0500', '0.00004', '0')
    """
    if value >= 0.001 or value == 0:
        return f"{value:.4f}" if value else "0"
    return numpy.format_float_positional(value, precision=2, unique=True, fractional=False, trim="-")


def runs_test(a_runs: list[float], b_runs: list[float]) -> dict | None:
    """Welch's t-test of B − A over the runs' own scores (one figure per training run), which asks whether the
    training procedures differ, where the bootstrap of one run a side asks only whether two checkpoints do. None
    where a side has fewer than 2 runs (no spread to test against)."""
    if min(len(a_runs), len(b_runs)) < 2:
        return None
    from scipy import stats

    welch = stats.ttest_ind(b_runs, a_runs, equal_var=False)
    # Runs without spread on both sides leave t undefined (JSON has no NaN): null, and p = 1 where nothing differs.
    finite = [float(value) if numpy.isfinite(value) else None for value in (welch.statistic, welch.df, welch.pvalue)]
    p = finite[2] if finite[2] is not None else 1.0 if numpy.mean(b_runs) == numpy.mean(a_runs) else 0.0
    return {"test": "welch", "runs": {"a": len(a_runs), "b": len(b_runs)}, "t": finite[0], "df": finite[1],
            "p_value": p}


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment: the family of tests then calls anything at all different, when nothing is, at most
    5% of the time (uncorrected, four of `compare`'s figures do so in 12.8% of simulated null pairs).

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    order = numpy.argsort(p_values, kind="stable")
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = round(running, 12)
    return adjusted


RUNS_ENOUGH = 5  # training runs a side below which a comparison speaks of checkpoints, not of training procedures


def runs_warnings(runs_a: int, runs_b: int) -> list[str]:
    """What a comparison of few runs tests. One run a side is one checkpoint a side: the bootstrap asks whether these
    two differ on text like the test set, and another seed of the same training could land either side of it. With
    a few runs the seed draw sees too little of the seed's spread, and equally good procedures are called different
    more often than 5%.

    >>> runs_warnings(5, 8)
    []
    """
    if min(runs_a, runs_b) >= RUNS_ENOUGH:
        return []
    return [f"{runs_a} run{'s' * (runs_a > 1)} of A and {runs_b} of B: with fewer than {RUNS_ENOUGH} runs a side the "
            "bootstrap compares these checkpoints, not the training procedures behind them (a retrained seed moves "
            "a score by itself); to compare procedures, train 5 or more seeds a side and give each side's runs as "
            "one comma-separated --pred" + ("" if min(runs_a, runs_b) < 2 else
                                            " (Welch's test over the runs' scores is shown beside the bootstrap)")]


def drawn_run_means(values: numpy.ndarray, rng: numpy.random.Generator) -> numpy.ndarray:
    """A figure's values (runs × resamples) -> per resample, the mean over runs drawn with replacement."""
    runs, resamples = values.shape
    if runs == 1:
        return values[0]
    picks = rng.integers(0, runs, size=(resamples, runs))
    return values[picks, numpy.arange(resamples)[:, None]].mean(axis=1)


def compare_runs(runs_a: list[Stats], runs_b: list[Stats], resamples: int = 10_000, seed: int = 42,
                 level: float = LEVEL, clusters: numpy.ndarray | None = None, primary: str | None = None) -> dict:
    """B − A per figure: each side's mean over its runs (and sd where it has several), the difference, its interval,
    the p-value with its Monte-Carlo error, for every figure but `primary` the Holm-adjusted p-value, and where both
    sides have several runs Welch's test over the runs' own scores (`runs_test`).

    >>> from llmner.evaluators.bootstrap import mcq_stats
    >>> a = mcq_stats(numpy.array([1, 0] * 200), numpy.ones(400))
    >>> b = mcq_stats(numpy.array([1, 1] * 200), numpy.ones(400))
    >>> result = compare_runs([a], [b], resamples=500, seed=0)["accuracy"]
    >>> result["difference"], result["p_value"] == 2 / 501
    (0.5, True)
    """
    everything = runs_a + runs_b
    if len({stats.rows.shape[0] for stats in everything}) != 1:
        raise ValueError("a paired comparison needs the same examples on every side")
    sums = resampled_sums([units(stats.rows, clusters) for stats in everything], resamples, seed)
    rng = numpy.random.default_rng([seed, 1])  # the runs' draws: a stream apart from the examples'
    result = {}
    # a figure some run lacks (ECE, where a side's predictions carry no confidence) cannot be compared
    for name in [name for name in runs_a[0].figures if all(name in stats.figures for stats in everything)]:
        full = [float(stats.values(stats.rows.sum(axis=0))[name]) for stats in everything]
        resampled = numpy.stack([stats.figures[name](s) for stats, s in zip(everything, sums)])
        split = len(runs_a)
        differences = drawn_run_means(resampled[split:], rng) - drawn_run_means(resampled[:split], rng)
        p = float(two_sided_p(differences))
        row = {"a": float(numpy.mean(full[:split])), "b": float(numpy.mean(full[split:]))}
        row |= {"difference": row["b"] - row["a"], "difference_ci": percentile_interval(differences, level),
                "p_value": p, "p_value_mc_error": monte_carlo_error(p, resamples)}
        for side, values in (("a", full[:split]), ("b", full[split:])):
            if len(values) > 1:
                row |= {f"{side}_sd": float(numpy.std(values, ddof=1)), f"{side}_runs": values}
        if (welch := runs_test(full[:split], full[split:])) is not None:
            row["runs_test"] = welch
        result[name] = row
    secondary = [name for name in result if name != primary]
    for name, adjusted in zip(secondary, holm([result[name]["p_value"] for name in secondary])):
        result[name]["p_value_holm"] = adjusted
    return result
