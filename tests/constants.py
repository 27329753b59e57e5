"""Paths shared by the tests (imported by test modules; conftest holds fixtures only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("DATA_DIR", ROOT.parent / "shared" / "data")).resolve()
FIXTURES = Path(__file__).parent / "fixtures"


# How many times a test or fixture has asked for real data (tests/conftest.py checks each such test is marked `data`).
REAL_DATA_READS = [0]


def shared(*parts: str) -> Path:
    """A path in ../shared/data; the test is skipped, saying why, where it is not there."""
    REAL_DATA_READS[0] += 1
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path} (tests on real data need ../shared/data)")
    return path
