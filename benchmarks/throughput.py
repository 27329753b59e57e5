"""Training and prediction throughput: the seeds' way against this project's settings, measured on this run.

    python -m benchmarks.throughput --toy                     # CPU smoke test: 2-layer model, a few steps
    python -m benchmarks.throughput --json results.json       # GPU: the real 1.5B architecture, random weights

Training, per step of forward + backward + AdamW, counting real (non-padding) tokens only:
  (a) seeds' way: every example padded to 256 tokens, no packing, fp16 autocast with a grad scaler;
  (b) ours: examples packed into 2048-token rows (position ids restart per example, as Axolotl's multipack does),
      bf16 autocast, flash attention 2 where installed (else SDPA), Liger's Qwen2 kernels where installed.
MFU = 6 × parameters × tokens/s ÷ the GPU's dense bf16 peak. Prediction: greedy generation of the same number of new
tokens per example, one example at a time (the seeds) against length-sorted left-padded batches (`make eval`).
Token lengths come from the real converted GMB data, tokenised by `--tokenizer` (the real one, where it is on disk)
or by a byte-level BPE trained here on the data (its lengths are close to, not equal to, Qwen's).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click


CONFIGS = Path(__file__).parent / "configs"
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0}  # dense, without sparsity


def peak_tflops(device_name: str) -> float | None:
    return next((peak for name, peak in PEAK_BF16_TFLOPS.items() if name in device_name), None)


def load_texts(path: Path, limit: int) -> list[list[dict]]:
    from core.io import read_jsonl

    return [example["messages"] for _, example in read_jsonl(path)][:limit]


def make_tokenizer(conversations, tokenizer_path: str | None, out: Path):
    from transformers import AutoTokenizer

    from prediction.predict import use_chat_template
    from training.twin import build_tokenizer

    if tokenizer_path:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    else:
        texts = [turn["content"] for conversation in conversations[:5000] for turn in conversation]
        tokenizer = build_tokenizer(texts, "deepseek_v3", out, vocab_size=32000)
    use_chat_template(tokenizer, "deepseek_v3")
    return tokenizer


def build_model(config_name: str, vocab_size: int, toy: bool, attention: str, device: str):
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    settings = {k: v for k, v in json.loads((CONFIGS / config_name).read_text()).items() if not k.startswith("_")}
    settings.pop("architectures", None)
    settings.pop("model_type", None)
    if toy:
        settings |= {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
                     "num_key_value_heads": 2}
    settings["vocab_size"] = vocab_size if toy else max(vocab_size, settings["vocab_size"])
    if toy:  # the special-token ids of the tokenizer trained here, not the real ones
        settings.pop("bos_token_id")
        settings.pop("eos_token_id")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(Qwen2Config(**settings), attn_implementation=attention)
    return model.to(device)


def padded_batches(lengths: list[int], batch_size: int, pad_to: int = 256) -> list[tuple[list[int], int]]:
    """The seeds' batches: (real tokens per row, row length) with every row padded (or cut) to `pad_to`."""
    rows = [min(length, pad_to) for length in lengths]
    return [(rows[i:i + batch_size], pad_to) for i in range(0, len(rows), batch_size)]


def packed_batches(lengths: list[int], micro_batch: int, row_length: int = 2048) -> list[tuple[list[list[int]], int]]:
    """First-fit packing of examples into rows of `row_length`; (examples per row, row length) per micro-batch."""
    rows: list[list[int]] = []
    for length in sorted((min(n, row_length) for n in lengths), reverse=True):
        row = next((r for r in rows if sum(r) + length <= row_length), None)
        if row is None:
            rows.append([length])
        else:
            row.append(length)
    return [(rows[i:i + micro_batch], row_length) for i in range(0, len(rows), micro_batch)]


def train_rate(model, batches, vocab: int, device: str, packed: bool, dtype, steps: int, warmup: int = 2) -> float:
    """Real tokens per second over `steps` optimizer steps (after `warmup` untimed ones)."""
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    scaler = torch.amp.GradScaler(device, enabled=dtype == torch.float16)
    generator = torch.Generator().manual_seed(0)
    timed_tokens, started = 0, None
    for step in range(warmup + steps):
        rows, length = batches[step % len(batches)]
        ids = torch.randint(0, vocab, (len(rows), length), generator=generator).to(device)
        if packed:
            positions = torch.tensor([[p for n in row for p in range(n)] + list(range(length - sum(row)))
                                      for row in rows], device=device)
            inputs, real = {"input_ids": ids, "position_ids": positions}, sum(sum(row) for row in rows)
        else:
            mask = torch.tensor([[1] * n + [0] * (length - n) for n in rows], device=device)
            inputs, real = {"input_ids": ids, "attention_mask": mask}, sum(rows)
        if step == warmup:
            _synchronise(device)
            started = time.perf_counter()
        with torch.autocast(device_type=device, dtype=dtype, enabled=dtype != torch.float32):
            loss = model(**inputs, labels=ids).loss
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        if step >= warmup:
            timed_tokens += real
    _synchronise(device)
    return timed_tokens / (time.perf_counter() - started)


def _synchronise(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def predict_rate(model, tokenizer, prompts: list[str], batch_size: int, new_tokens: int, device: str) -> float:
    """Examples per second generating exactly `new_tokens` greedily (so both ways do the same work)."""
    import torch

    from prediction.predict import length_sorted_batches

    tokenizer.padding_side = "left"
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    _synchronise(device)
    started = time.perf_counter()
    for batch in length_sorted_batches([len(e) for e in encoded], batch_size):
        inputs = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt").to(device)
        with torch.inference_mode():
            model.generate(**inputs, do_sample=False, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                           pad_token_id=tokenizer.pad_token_id)
    _synchronise(device)
    return len(prompts) / (time.perf_counter() - started)


@click.command()
@click.option("--data", default="data/gmb/train.jsonl", show_default=True, help="Converted examples (make data).")
@click.option("--test-data", default="data/gmb/test.jsonl", show_default=True)
@click.option("--config", "config_name", default="deepseek_r1_distill_qwen_1.5b.json", show_default=True)
@click.option("--tokenizer", "tokenizer_path", default=None, help="A real tokenizer folder, if on disk.")
@click.option("--toy", is_flag=True, help="2-layer model, few steps: the CPU smoke test.")
@click.option("--examples", default=4000, show_default=True)
@click.option("--train-steps", default=20, show_default=True)
@click.option("--predict-examples", default=256, show_default=True)
@click.option("--new-tokens", default=32, show_default=True)
@click.option("--json", "json_path", default=None)
def main(data, test_data, config_name, tokenizer_path, toy, examples, train_steps, predict_examples, new_tokens,
         json_path):
    import tempfile

    import torch

    from prediction.predict import prompt_messages, training_prefix

    device = "cuda" if torch.cuda.is_available() else "cpu"
    conversations = load_texts(Path(data), examples)
    tokenizer = make_tokenizer(conversations, tokenizer_path, Path(tempfile.mkdtemp()))
    lengths = [len(tokenizer.apply_chat_template(c, tokenize=True)["input_ids"]) for c in conversations]
    fast_attention = "flash_attention_2" if device == "cuda" and _has("flash_attn") else "sdpa"
    half, bf16 = (torch.float16, torch.bfloat16) if device == "cuda" else (torch.float32, torch.float32)
    results = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "toy": toy,
               "config": config_name, "examples": len(lengths), "mean_tokens": sum(lengths) / len(lengths)}

    seeds = build_model(config_name, len(tokenizer), toy, "sdpa", device)
    results["parameters"] = sum(p.numel() for p in seeds.parameters())
    results["seeds_tokens_per_s"] = train_rate(seeds, padded_batches(lengths, 16), len(tokenizer), device, False,
                                               half, train_steps)
    del seeds
    ours = build_model(config_name, len(tokenizer), toy, fast_attention, device)
    if device == "cuda" and _has("liger_kernel"):
        from liger_kernel.transformers import apply_liger_kernel_to_qwen2

        apply_liger_kernel_to_qwen2(model=ours)
    results["ours_tokens_per_s"] = train_rate(ours, packed_batches(lengths, 4), len(tokenizer), device, True, bf16,
                                              train_steps)
    results["attention"] = fast_attention
    results["training_speedup"] = results["ours_tokens_per_s"] / results["seeds_tokens_per_s"]
    peak = peak_tflops(results["device"])
    if peak:
        for way in ("seeds", "ours"):
            results[f"{way}_mfu"] = 6 * results["parameters"] * results[f"{way}_tokens_per_s"] / (peak * 1e12)

    ours.eval()
    prompts = [training_prefix(tokenizer, prompt_messages({"messages": m}))
               for m in load_texts(Path(test_data), predict_examples)]
    results["one_at_a_time_examples_per_s"] = predict_rate(ours, tokenizer, prompts[:max(8, len(prompts) // 8)], 1,
                                                           new_tokens, device)
    results["batched_examples_per_s"] = predict_rate(ours, tokenizer, prompts, 32, new_tokens, device)
    results["prediction_speedup"] = results["batched_examples_per_s"] / results["one_at_a_time_examples_per_s"]
    for key, value in results.items():
        click.echo(f"{key:>32}: {value:,.4g}" if isinstance(value, float) else f"{key:>32}: {value}")
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=1) + "\n")


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    main()
