"""The GPU suite's derived figures, on CPU: the parameters MFU counts (checked against the real architectures built
by transformers on the meta device), the peak chosen by the exact device name, and the full fine-tune labelled
"without ZeRO" wherever it is reported, since the bundle carries no DeepSpeed."""

from __future__ import annotations

import json

import pytest

from benchmarks import gpu_figures, gpu_prediction, gpu_report, gpu_suite, gpu_training
from core.recipes import load_recipe
from tests.constants import ROOT
from training.budget import MODEL_CONFIGS, model_config

R1_QWEN_15B = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"


@pytest.mark.parametrize("base_model", sorted(MODEL_CONFIGS))
def test_mfu_parameters_are_the_architectures_without_the_input_embedding(base_model):
    """transformers' own model of the published config: every parameter, less the input embedding where lm_head is a
    separate matrix (a tied one is counted once, as lm_head, whose matmul runs on every token)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    settings = {k: v for k, v in model_config(base_model).items() if not k.startswith("_") and k != "architectures"}
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(settings.pop("model_type"), **settings))
    total = sum(p.numel() for p in model.parameters())
    embedding = model.get_input_embeddings().weight
    untied = embedding is not model.get_output_embeddings().weight
    assert gpu_figures.flop_parameters(model_config(base_model)) == total - (embedding.numel() if untied else 0)


def test_mfu_of_a_known_run():
    """R1-Distill-Qwen-1.5B: 28 blocks × (46,792,704 linear weights + 2,048 q/k/v biases + 3,072 norm weights)
    + final norm 1,536 + lm_head 151,936 × 1,536 = 1,543,714,304. At 10,000 tokens/s on an H100 SXM (989 TFLOPS):
    full fine-tune 6·N, QLoRA 4·N with N the same, whatever its packed 4-bit storage reported."""
    n = 28 * (46_792_704 + 2_048 + 3_072) + 1_536 + 151_936 * 1_536
    assert gpu_figures.flop_parameters(model_config(R1_QWEN_15B)) == n == 1_543_714_304
    runs = {"ds15b_fft": {"tokens_per_s": 10_000.0, "method": "full", "model": R1_QWEN_15B,
                          "parameters": 1_777_088_000},
            "ds15b_qlora": {"tokens_per_s": 10_000.0, "method": "qlora", "model": R1_QWEN_15B,
                            "parameters": 888_000_000}}
    summary = gpu_figures.derived({"device": "NVIDIA H100 80GB HBM3", "runs": runs}, None)
    assert summary["ds15b_fft_mfu"] == pytest.approx(6 * n * 10_000 / 989e12)
    assert summary["ds15b_qlora_mfu"] == pytest.approx(4 * n * 10_000 / 989e12)


@pytest.mark.parametrize("name,peak", [("NVIDIA H100 80GB HBM3", 989.0), ("NVIDIA H100 PCIe", 756.0),
                                       ("NVIDIA H100 NVL", 835.0), ("NVIDIA H200", 989.0),
                                       ("NVIDIA A100-SXM4-80GB", 312.0), ("NVIDIA A100 80GB PCIe", 312.0)])
def test_peak_is_chosen_by_the_exact_device(name, peak):
    assert gpu_figures.peak_tflops(name) == peak


@pytest.mark.parametrize("name", ["NVIDIA H100", "NVIDIA H200 NVL", "Tesla V100-SXM2-32GB", "cpu"])
def test_an_unknown_device_gets_no_mfu_and_says_why(name):
    with pytest.raises(gpu_figures.UnknownDevice):
        gpu_figures.peak_tflops(name)
    results = {"device": name, "runs": {"ds15b_fft": {"tokens_per_s": 1.0, "method": "full", "model": R1_QWEN_15B}}}
    results["summary"] = gpu_figures.derived(results, None)
    assert "ds15b_fft_mfu" not in results["summary"] and name in results["summary"]["mfu_refused"]
    assert f"No MFU: no dense bf16 peak known for {name!r}" in gpu_report.markdown(results)


def test_the_full_fine_tune_twin_drops_zero_and_every_output_says_so(tmp_path):
    recipe = load_recipe(ROOT / "recipes" / "ds15b_fft.yml")
    assert recipe["deepspeed"] and gpu_suite.uses_deepspeed("ds15b_fft")
    twin = gpu_training.bench_twin(recipe, tmp_path / "model", tmp_path / "train.jsonl", tmp_path, 5, toy=False)
    assert "deepspeed" not in twin  # what the label is for; carrying DeepSpeed would remove both
    run = {"tokens_per_s": 10_000.0, "method": "full", "model": R1_QWEN_15B, "zero_dropped": True,
           "label": "ds15b_fft (without ZeRO)"}
    results = {"device": "NVIDIA H200", "out": str(tmp_path),
               "runs": {"ds15b_fft": run, "seeds": {**run, "zero_dropped": False}}}
    results["summary"] = gpu_figures.derived(results, None)
    table = gpu_report.markdown(results)
    assert "| ds15b_fft (without ZeRO) |" in table and "| seeds |" in table
    assert "| training: 1.5B FFT (without ZeRO) MFU |" in table
    assert "| training: Axolotl FFT (without ZeRO) ÷ seeds' tokens/s |" in table
    assert json.loads(json.dumps(results))["runs"]["ds15b_fft"]["label"].endswith("(without ZeRO)")


def test_the_constrained_rate_runs_a_grammar_mode_in_the_loop(monkeypatch):
    """The overhead figure is for a grammar checked at every step: a mode of prediction.constrained, by name (the
    suite once passed True, which generate_answers took for no named mode at all)."""
    from prediction.constrained import MODES

    asked = []
    monkeypatch.setattr(gpu_prediction, "generate_answers", lambda *args, constrained=None: asked.append(constrained))
    figures = gpu_prediction.constrained_overhead(None, None, [], ["p"], 1, 1)
    assert asked == [None, "end"] and asked[1] in MODES and figures["constrained_mode"] == "end"
