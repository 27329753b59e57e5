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


@pytest.mark.parametrize("bf16_unit,cuda,expected", [(True, False, True), (False, False, False), (False, True, True)])
def test_a_cpu_without_a_bf16_unit_trains_in_fp32(bf16_unit, cuda, expected, monkeypatch, caplog):
    """Emulated bf16 is several times slower than fp32 (4.7× measured on an AMD EPYC Zen 3): on a CPU without AMX or
    AVX-512 BF16, `bf16: true` trains in fp32, said in one line; a GPU and a CPU with the unit keep bf16."""
    import torch
    from axolotl.utils.dict import DictDefault

    from llmner.core import precision

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(precision, "cpu_has_bf16_unit", lambda: bf16_unit)
    cfg = DictDefault({"bf16": True})
    CpuBf16Plugin().register(cfg)
    assert cfg.bf16 is expected
    assert ("trains in fp32 here" in caplog.text) is not expected
