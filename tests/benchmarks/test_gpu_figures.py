"""The GPU suite's derived figures, on CPU: the parameters MFU counts (checked against the real architectures built
by transformers on the meta device), the peak chosen by the exact device name and kept with each run, and the full
fine-tune through ZeRO-2 where the GPU machine has DeepSpeed, labelled "without ZeRO" wherever it is reported where
it has not (the bundle does not carry it)."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from llmner.benchmarks import gpu_figures, gpu_prediction, gpu_report, gpu_suite, gpu_training
from llmner.core.recipes import load_recipe
from llmner.training.budget import MODEL_CONFIGS, model_config
from tests.constants import ROOT

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
                                       ("NVIDIA A100-SXM4-80GB", 312.0), ("NVIDIA A100 80GB PCIe", 312.0),
                                       ("NVIDIA A10", 125.0), ("NVIDIA GeForce RTX 4090", 165.2)])
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


def test_the_full_fine_tune_twin_drops_zero_and_every_output_says_so(tmp_path, monkeypatch):
    """A GPU machine without DeepSpeed."""
    recipe = load_recipe(ROOT / "recipes" / "ds15b_fft.yml")
    assert recipe["deepspeed"] and gpu_suite.uses_deepspeed("ds15b_fft")
    monkeypatch.setattr(gpu_training, "has", lambda module: module != "deepspeed")
    monkeypatch.setattr(gpu_suite, "has", lambda module: module != "deepspeed")
    assert gpu_suite.zero_note("ds15b_fft", toy=False) == " (without ZeRO: no DeepSpeed installed on this machine)"
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
    from llmner.prediction.constrained import MODES

    asked = []
    monkeypatch.setattr(gpu_prediction, "generate_answers", lambda *args, constrained=None: asked.append(constrained))
    figures = gpu_prediction.constrained_overhead(None, None, [], ["p"], 1, 1)
    assert asked == [None, "end"] and asked[1] in MODES and figures["constrained_mode"] == "end"


def test_the_full_fine_tune_twin_runs_zero_2_where_deepspeed_is_installed(tmp_path, monkeypatch):
    """The recipe's own path: its ZeRO-2 config, one process in a world of one (no launcher under the suite)."""
    recipe = load_recipe(ROOT / "recipes" / "ds15b_fft.yml")
    monkeypatch.setattr(gpu_training, "has", lambda module: True)
    monkeypatch.setattr(gpu_suite, "has", lambda module: True)
    assert gpu_suite.zero_note("ds15b_fft", toy=False) == " (ZeRO-2 through DeepSpeed, as the recipe)"
    assert "without ZeRO" in gpu_suite.zero_note("ds15b_fft", toy=True)
    twin = gpu_training.bench_twin(recipe, tmp_path / "model", tmp_path / "train.jsonl", tmp_path, 5, toy=False)
    assert twin["deepspeed"] == str(ROOT / "deepspeed_configs" / "zero2.json")
    twin_path = tmp_path / "twin.yml"
    twin_path.write_text(yaml.safe_dump(twin))
    seen = {}

    def fake_run(command, env, **kwargs):
        seen.update(env)
        (tmp_path / "figures.json").write_text("{}")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(gpu_training.subprocess, "run", fake_run)
    gpu_training.run_axolotl(twin_path, tmp_path / "figures.json", 1, 0, 60)
    assert {key: seen[key] for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE")} == {"RANK": "0", "LOCAL_RANK": "0",
                                                                                "WORLD_SIZE": "1"}
    assert int(seen["MASTER_PORT"]) > 0


def test_each_run_keeps_its_own_device_and_peak():
    """The parts of one results.json ran on different machines: the training part on an A10, prediction later on an
    H100. The file kept one device (the last call's), and every MFU was recomputed with the H100's peak."""
    n = gpu_figures.flop_parameters(model_config(R1_QWEN_15B))
    runs = {"ds15b_fft": {"tokens_per_s": 1_000.0, "method": "full", "model": R1_QWEN_15B, "device": "NVIDIA A10",
                          "peak_bf16_tflops": 125.0},
            "ds15b_lora": {"tokens_per_s": 1_000.0, "method": "lora", "model": R1_QWEN_15B,
                           "device": "NVIDIA GeForce RTX 4090", "peak_bf16_tflops": 165.2}}
    summary = gpu_figures.derived({"device": "NVIDIA H100 80GB HBM3", "runs": runs}, None)
    assert summary["ds15b_fft_mfu"] == pytest.approx(6 * n * 1_000 / 125e12)
    assert summary["ds15b_lora_mfu"] == pytest.approx(4 * n * 1_000 / 165.2e12)


def test_the_suite_records_the_device_and_peak_on_every_run(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_suite, "device_name", lambda: "NVIDIA A10")
    monkeypatch.setattr(gpu_suite, "measure_one", lambda name, settings: {"tokens_per_s": 1.0})
    results = {"runs": {}}
    gpu_suite.measure(["ds15b_lora"], {"deadline": float("inf"), "reserve_s": 0, "toy": False}, results,
                      lambda: None)
    run = results["runs"]["ds15b_lora"]
    assert (run["device"], run["peak_bf16_tflops"], run["toy"]) == ("NVIDIA A10", 125.0, False)
