"""The GPU suite's derived figures: MFU from the measured tokens/s, the speed-ups against their targets, the cost per
1,000 sentences. Nothing here is measured; everything is computed from what the suite measured.

Tokens/s counts real (non-padding) tokens. MFU = FLOPs per token × tokens/s ÷ the device's dense bf16 peak, with
6·N FLOPs per token for a full fine-tune (forward 2·N, backward 4·N) and 4·N for LoRA/QLoRA (frozen weights get no
weight gradient; the adapters' own FLOPs are negligible). N counts every weight a token's matmuls use, lm_head
included and the input embedding (a lookup) not, from the real architecture, so 4-bit weights count as the parameters
they stand for, not their packed storage. Attention's own matmuls (QKᵀ and AV: 6·L·d·s per token for causal examples
of s tokens, forward and backward) are left out: under 1% at GMB's ~190-token examples. The peak is looked up by the
exact device name; an unknown device gets no MFU rather than a guessed peak. Each run carries the device it ran on
and that device's peak (parts of one results.json may run on different machines), and its MFU uses them.
"""

from __future__ import annotations

from llmner.training.budget import linear_shapes, model_config

# Dense bf16 tensor peak (without sparsity) by the exact name torch.cuda.get_device_name() gives: the H100's three
# forms differ by a third, so a substring ("H100") would guess.
PEAK_BF16_TFLOPS = {"NVIDIA H100 80GB HBM3": 989.0, "NVIDIA H100 PCIe": 756.0, "NVIDIA H100 NVL": 835.0,
                    "NVIDIA H200": 989.0, "NVIDIA A100-SXM4-80GB": 312.0, "NVIDIA A100-SXM4-40GB": 312.0,
                    "NVIDIA A100-PCIE-40GB": 312.0, "NVIDIA A100 80GB PCIe": 312.0, "NVIDIA L40S": 362.0,
                    # the A10 datasheet's 125 (250 with sparsity); the RTX 4090's 165.2 with fp32 accumulation, as
                    # training accumulates (Ada whitepaper; 330.3 with fp16 accumulation)
                    "NVIDIA A10": 125.0, "NVIDIA GeForce RTX 4090": 165.2}
FLOPS_PER_PARAMETER = {"full": 6, "lora": 4, "qlora": 4}  # per token: see the module docstring
WITHOUT_ZERO = "without ZeRO"
TARGETS = {"training_speedup": 3.0, "fft_mfu": 0.40, "prediction_speedup": 20.0}  # the issue's, not measurements


class UnknownDevice(ValueError):
    """A device whose peak is not in PEAK_BF16_TFLOPS: its MFU is refused, not guessed."""


def known_peak(device_name: str) -> float | None:
    return PEAK_BF16_TFLOPS.get(device_name)


def peak_tflops(device_name: str) -> float:
    if device_name not in PEAK_BF16_TFLOPS:
        raise UnknownDevice(f"no dense bf16 peak known for {device_name!r} (known: {', '.join(PEAK_BF16_TFLOPS)})")
    return PEAK_BF16_TFLOPS[device_name]


def flop_parameters(config: dict) -> int:
    """N of the 6·N rule for an architecture's config: the transformer blocks (linear weights, Qwen2's q/k/v biases,
    norms), the final norm and lm_head; not the input embedding (tied or not, lm_head's matmul runs)."""
    hidden, shapes = config["hidden_size"], linear_shapes(config)
    biases = sum(shapes[name][1] for name in ("q_proj", "k_proj", "v_proj")) if config["model_type"] == "qwen2" else 0
    block = sum(i * o for i, o in shapes.values()) + biases + 2 * hidden
    return config["num_hidden_layers"] * block + hidden + config["vocab_size"] * hidden


def mfu(run: dict, peak: float) -> float:
    """Model FLOPs utilisation of one training run (tokens/s of real tokens, method, model as recorded)."""
    flops_per_token = FLOPS_PER_PARAMETER[run["method"]] * flop_parameters(model_config(run["model"]))
    return flops_per_token * run["tokens_per_s"] / (peak * 1e12)


def run_label(name: str, run: dict) -> str:
    return f"{name} ({WITHOUT_ZERO})" if run.get("zero_dropped") else name


def derived(results: dict, usd_per_gpu_hour: float | None) -> dict:
    """Ratios, MFU and cost from the measured figures (nothing here is measured on its own)."""
    runs, summary = results.get("runs", {}), {}
    for name, run in runs.items():
        if run.get("toy", results.get("toy")) or not (run.get("tokens_per_s") and run.get("model")
                                                      and run.get("method") in FLOPS_PER_PARAMETER):
            continue
        try:  # the run's own device and peak; a run recorded before runs carried them, the file's device
            peak = run.get("peak_bf16_tflops") or peak_tflops(run.get("device", results.get("device", "")))
        except UnknownDevice as refused:
            summary["mfu_refused"] = str(refused)
            continue
        summary[f"{name}_mfu"] = mfu(run, peak)
    fft, seeds = runs.get("ds15b_fft", {}), runs.get("seeds", {})
    if fft.get("tokens_per_s") and seeds.get("tokens_per_s"):
        summary["training_speedup"] = fft["tokens_per_s"] / seeds["tokens_per_s"]
    predict = runs.get("prediction", {})
    if predict.get("batched_examples_per_s"):
        summary["gpu_seconds_per_1000_sentences"] = 1000 / predict["batched_examples_per_s"]
        summary["gpu_seconds_per_1000_sentences_constrained"] = 1000 / predict["constrained_examples_per_s"]
        if usd_per_gpu_hour:
            summary["usd_per_1000_sentences"] = summary["gpu_seconds_per_1000_sentences"] / 3600 * usd_per_gpu_hour
    return summary


def target_rows(results: dict) -> list[tuple[str, str, str, str]]:
    """(what, measured, target, met / MISSED / not measured) for each of the issue's targets."""
    summary, runs = results.get("summary", {}), results.get("runs", {})
    fft = " (" + WITHOUT_ZERO + ")" if runs.get("ds15b_fft", {}).get("zero_dropped") else ""
    checks = [(f"training: Axolotl FFT{fft} ÷ seeds' tokens/s", summary.get("training_speedup"),
               TARGETS["training_speedup"], "{:.2f}×"),
              (f"training: 1.5B FFT{fft} MFU", summary.get("ds15b_fft_mfu"), TARGETS["fft_mfu"], "{:.1%}"),
              ("prediction: batched ÷ one at a time", runs.get("prediction", {}).get("speedup"),
               TARGETS["prediction_speedup"], "{:.1f}×")]
    rows = []
    for what, value, target, fmt in checks:
        met = "not measured" if value is None else ("met" if value >= target else "MISSED")
        rows.append((what, "—" if value is None else fmt.format(value), "≥ " + fmt.format(target), met))
    return rows
