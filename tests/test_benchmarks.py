"""The benchmark scripts run (smoke tests: their figures are printed by the scripts, never asserted as timings)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.constants import ROOT, SHARED_DATA, shared

pytestmark = pytest.mark.slow


def test_cpu_speed_prints_measured_figures(tmp_path):
    shared("conll2003")
    result = subprocess.run([sys.executable, "-m", "benchmarks.cpu_speed", "--data-dir", str(SHARED_DATA), "--repeats",
                             "1", "--json", str(tmp_path / "f.json")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    figures = json.loads((tmp_path / "f.json").read_text())
    assert figures["scoring_sentences"] == 3453 and figures["gmb_sentences"] == 47959
    assert "scoring CoNLL-2003 test from generations" in result.stdout


def test_throughput_runs_at_toy_size(converted, tmp_path):
    result = subprocess.run([sys.executable, "-m", "benchmarks.throughput", "--toy", "--data",
                             str(converted / "gmb" / "train.jsonl"), "--test-data", str(converted / "gmb" / "test.jsonl"),
                             "--examples", "200", "--train-steps", "3", "--predict-examples", "32", "--new-tokens", "4",
                             "--json", str(tmp_path / "t.json")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "t.json").read_text())
    for key in ("seeds_tokens_per_s", "ours_tokens_per_s", "one_at_a_time_examples_per_s", "batched_examples_per_s"):
        assert figures[key] > 0
