"""What `compare` states about its numbers: the Monte-Carlo error of a two-sided p, the p-value at the resampling
floor (printed as a bound, never as 0), what a comparison of single runs tests (a warning below 5 runs a side, and a
test over the runs' scores where there are several), and examples that lost their documents (said loudly)."""

from __future__ import annotations

import json

import numpy
import pytest
from scipy import stats as scipy_stats

from llmner.benchmarks.real_report import comparison_cell
from llmner.core.io import write_jsonl
from llmner.core.schemas import Comparison
from llmner.evaluators import significance
from llmner.evaluators.tables import comparison_table
from tests.cli import llmner


def test_the_monte_carlo_error_of_a_two_sided_p_is_its_spread_over_reruns():
    """p is twice a tail share, so its binomial error is sqrt(p (2 - p) / B), not sqrt(p (1 - p) / B)."""
    rng = numpy.random.default_rng(7)
    resamples, reruns = 1000, 4000
    # differences centred so that about 5% of the mass is on the far side of 0, both tails counted: p near 0.05
    differences = rng.normal(scipy_stats.norm.isf(0.025), 1.0, size=(reruns, resamples))
    p_values = significance.two_sided_p(differences, axis=1)
    stated = significance.monte_carlo_error(float(p_values.mean()), resamples)
    assert p_values.std() == pytest.approx(stated, rel=0.06), (p_values.std(), stated)
    assert significance.monte_carlo_error(1.0, 10_000) == pytest.approx(0.01)  # not 0 at p = 1


def one_figure_result(p: float, resamples: int) -> Comparison:
    row = {"a": 0.5, "b": 0.6, "difference": 0.1, "difference_ci": [0.05, 0.15], "p_value": p,
           "p_value_mc_error": significance.monte_carlo_error(p, resamples)}
    return Comparison.model_validate(
        {"task": "mcq", "examples": 400, "data": "gold.jsonl", "a": "a.jsonl", "b": "b.jsonl",
         "runs": {"a": 1, "b": 1}, "method": "paired bootstrap over examples", "difference": "b - a",
         "primary": "accuracy", "holm": "every figure but the primary",
         "bootstrap": {"resamples": resamples, "seed": 42},
         "p_value_floor": significance.p_floor(resamples), "figures": {"accuracy": row}})


@pytest.mark.parametrize("resamples, shown", [(10_000, "≤ 0.0002"), (50_000, "≤ 0.00004"), (100_000, "≤ 0.00002")])
def test_a_p_value_at_the_resampling_floor_prints_as_a_bound_never_as_0(resamples, shown, tmp_path):
    floor = 2 / (resamples + 1)  # no resample on the far side of 0: twice (0 + 1) / (B + 1)
    table = comparison_table(one_figure_result(floor, resamples))
    assert shown in table and "0.0000 " not in table, table
    path = tmp_path / "compare.json"
    written = one_figure_result(floor, resamples).to_json()
    path.write_text(json.dumps(written | {"figures": {"entity.micro.f1": written["figures"]["accuracy"]}}))
    assert comparison_cell(str(path)).endswith(f"p {shown}")  # bench-real's table: the same decision


def test_a_p_value_above_the_floor_prints_as_a_number():
    table = comparison_table(one_figure_result(4 / 50_001, 50_000))
    assert "0.00008" in table and "≤" not in table, table
    assert significance.p_text(0.0213, 10_000) == "0.0213" and significance.p_text(1.0, 10_000) == "1.0000"


def mcq_gold(n: int = 120) -> list[dict]:
    return [{"id": f"quiz/test/{i}", "messages": [], "gold": {"task": "mcq", "answer": "ABCD"[i % 4]}}
            for i in range(n)]


def mcq_run(path, seed: int, right: float, n: int = 120):
    """A run that answers a share `right` of the questions correctly (the rest wrong), its errors placed by `seed`."""
    rng = numpy.random.default_rng(seed)
    correct = rng.random(n) < right
    write_jsonl(path, [{"id": f"quiz/test/{i}", "output": "ABCD"[(i + (0 if ok else 1)) % 4]}
                       for i, ok in enumerate(correct)])
    return path


def compare(tmp_path, runs_a: int, runs_b: int):
    write_jsonl(tmp_path / "gold.jsonl", mcq_gold())
    sides = [",".join(str(mcq_run(tmp_path / f"{side}{seed}.jsonl", 10 * (side == "b") + seed, right))
                      for seed in range(runs)) for side, runs, right in (("a", runs_a, 0.6), ("b", runs_b, 0.7))]
    result = llmner("compare", "--data", tmp_path / "gold.jsonl", "--pred", sides[0], "--pred", sides[1],
                    "--resamples", 500, "--json", tmp_path / "c.json")
    assert result.exit_code == 0, result.output
    return result, json.loads((tmp_path / "c.json").read_text())


def test_single_runs_are_said_to_compare_checkpoints_not_training_procedures(tmp_path):
    result, compared = compare(tmp_path, 1, 1)
    warned = [line for line in compared["warnings"] if "checkpoints" in line]
    assert len(warned) == 1 and "1 run of A and 1 of B" in warned[0] and "5 runs" in warned[0], compared["warnings"]
    assert f"warning: {warned[0]}" in result.stderr
    assert "runs_test" not in compared["figures"]["accuracy"]  # no test over one score a side


def test_several_runs_get_a_welch_test_over_their_scores_beside_the_bootstrap(tmp_path):
    result, compared = compare(tmp_path, 3, 4)
    row = compared["figures"]["accuracy"]
    welch = scipy_stats.ttest_ind(row["b_runs"], row["a_runs"], equal_var=False)
    assert row["runs_test"].pop("runs") == {"a": 3, "b": 4}
    assert row["runs_test"] == pytest.approx({"test": "welch", "t": welch.statistic, "df": welch.df,
                                              "p_value": welch.pvalue})
    assert "Welch's t-test over the runs' scores (3 runs of A, 4 of B)" in result.output
    assert any("3 runs of A and 4 of B" in line for line in compared["warnings"])  # still fewer than 5 a side


def test_five_runs_a_side_are_not_warned_about(tmp_path):
    _, compared = compare(tmp_path, 5, 5)
    assert not [line for line in compared["warnings"] if "checkpoints" in line], compared["warnings"]
    assert compared["p_value_floor"] == 2 / 501
