"""Shared test set-up: the real data beside the checkout (skipped with a clear message where it is absent),
offline Hugging Face and no telemetry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tests.constants import SHARED_DATA, shared


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> Path:
    """Every dataset of ../shared/data converted once, as `make data` does."""
    from converters.registry import conversion_plan
    from core.io import write_jsonl

    shared()
    out = tmp_path_factory.mktemp("data")
    for target, make_examples in conversion_plan(SHARED_DATA):
        write_jsonl(out / target, make_examples())
    return out
