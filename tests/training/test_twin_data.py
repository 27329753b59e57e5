"""The twin's training head is the examples file's first records, read the one way (core.schemas.read_examples)."""

from __future__ import annotations

import pytest

from llmner.core.errors import DataError
from llmner.training.twin import make_twin
from tests.constants import ROOT


def test_a_line_that_is_not_an_example_is_one_line_before_any_model_is_built(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"id": "gmb/train/0", "messages": [{"role": "user", "content": "Hi"}], '
                    '"gold": {"task": "ner", "text": "Hi", "entities": []}}\n{not json\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:2: expected one JSON object per line"):
        make_twin(ROOT / "recipes" / "ds15b_lora.yml", tmp_path / "twin", data=data)
    assert not (tmp_path / "twin" / "model").exists()
