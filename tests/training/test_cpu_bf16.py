"""The plugin that lets `bf16: true` train on a CPU: transformers refuses bf16 without a GPU unless use_cpu is set."""

from __future__ import annotations

import pytest

from llmner.training.cpu_bf16 import CpuBf16Plugin


@pytest.mark.parametrize("cfg,cuda,expected", [({"bf16": True}, False, {"use_cpu": True}),
                                               ({"bf16": False}, False, None),
                                               ({"bf16": True}, True, None)])
def test_use_cpu_only_for_bf16_without_cuda(cfg, cuda, expected, monkeypatch):
    import torch
    from axolotl.utils.dict import DictDefault

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert CpuBf16Plugin().get_training_args(DictDefault(cfg)) == expected


def test_transformers_accepts_bf16_on_a_cpu_only_with_use_cpu(tmp_path):
    import torch
    from transformers import TrainingArguments

    if torch.cuda.is_available():
        pytest.skip("a GPU accepts bf16 as it is")
    with pytest.raises(ValueError, match="use_cpu"):
        TrainingArguments(output_dir=str(tmp_path), bf16=True, report_to=[])
    assert TrainingArguments(output_dir=str(tmp_path), bf16=True, report_to=[], use_cpu=True).bf16
