"""Shared test set-up: the real data beside the checkout (skipped with a clear message where it is absent), a test
that reads it failed unless marked `data` (the tiers' times in the README are only true if the markers are), offline
Hugging Face and no telemetry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tests.constants import REAL_DATA_READS, SHARED_DATA, shared

# Fixtures whose set-up read real data: every test that uses one reads it too.
DATA_FIXTURES: set[str] = set()


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    before = REAL_DATA_READS[0]
    yield
    if REAL_DATA_READS[0] > before:
        DATA_FIXTURES.add(fixturedef.argname)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    item.real_data_reads = REAL_DATA_READS[0]
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not report.passed or item.get_closest_marker("data"):
        return
    fixtures = sorted(DATA_FIXTURES & set(getattr(item, "fixturenames", ())))
    if REAL_DATA_READS[0] > getattr(item, "real_data_reads", REAL_DATA_READS[0]) or fixtures:
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid} reads ../shared/data ({', '.join(fixtures) or 'shared()'}) but is not "
                           "marked @pytest.mark.data: the fast tier must not read real data")


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> Path:
    """Every dataset of ../shared/data converted once, as `make data` does."""
    from llmner.converters.registry import conversion_plan
    from llmner.core.io import write_jsonl

    shared()
    out = tmp_path_factory.mktemp("data")
    for target, make_examples in conversion_plan(SHARED_DATA):
        write_jsonl(out / target, make_examples())
    return out
