"""Prediction throughput through `llmner predict`'s own generation (prediction.predict): one example at a time against
length-sorted batches, and batched generation with and without the grounded grammar in the loop (prediction.constrained,
mode `end`: the grammar checks the model's choice at every step, the cost the overhead figure is for).

The weights are random, so a model would stop at a random end-of-turn: every example is made to write exactly the
mean length of the gold answers (end-of-turn held back until then), so both ways generate the same tokens.
"""

from __future__ import annotations

import time

from llmner.benchmarks.gpu_inputs import device, has, random_model, recipe, tokenizer_for
from llmner.benchmarks.step_timer import start_profiler, synchronise, top_operators
from llmner.core.schemas import Example, read_examples
from llmner.prediction.predict import generate_answers, generate_transformers, prompt_token_ids, training_prompts

CONSTRAINED_MODE = "end"  # the grammar in the loop (skip only filters afterwards; force also searches candidates)


def fixed_length(model, tokenizer, new_tokens: int):
    """A logits-processor factory for generate_transformers: no end-of-turn before `new_tokens` new tokens."""
    from transformers import LogitsProcessorList, MinNewTokensLengthLogitsProcessor

    def factory(batch: list[int], prompt_length: int) -> LogitsProcessorList:
        return LogitsProcessorList([MinNewTokensLengthLogitsProcessor(prompt_length, new_tokens,
                                                                      tokenizer.eos_token_id, device=model.device)])

    return factory


def generation_rate(model, tokenizer, prompts: list[str], batch_size: int, new_tokens: int) -> float:
    """Examples/s generating exactly `new_tokens` greedily, through prediction's generation loop."""
    encoded = prompt_token_ids(tokenizer, prompts)
    synchronise()
    started = time.perf_counter()
    generate_transformers(model, tokenizer, encoded, batch_size, new_tokens, fixed_length(model, tokenizer, new_tokens))
    synchronise()
    return len(prompts) / (time.perf_counter() - started)


def answer_tokens(tokenizer, examples: list[Example]) -> int:
    """Mean tokens of the gold answers plus the end-of-turn token: what a trained model writes per example."""
    answers = [e.messages[-1].content for e in examples]
    return round(sum(len(tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers) / len(answers)) + 1


def loaded_model(settings: dict):
    """The FFT recipe's random model in bf16 on the GPU (fp32 on CPU), flash attention where installed."""
    import torch
    from transformers import AutoModelForCausalLM

    chosen = recipe("ds15b_fft")
    tokenizer = tokenizer_for(chosen["chat_template"], read_examples(settings["train"], settings["tokenizer_examples"]),
                              settings["out"], settings["toy"])
    model_dir = random_model(chosen["base_model"], tokenizer, settings["out"], settings["toy"])
    cuda = device() == "cuda"
    attention = "flash_attention_2" if cuda and has("flash_attn") else "sdpa"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if cuda else torch.float32,
                                                 attn_implementation=attention).to(device()).eval()
    tokenizer.padding_side = "left"
    return model, tokenizer, {"model": chosen["base_model"], "attention": attention}


def predict_rates(settings: dict) -> dict:
    model, tokenizer, figures = loaded_model(settings)
    examples = read_examples(settings["test"], settings["predict_examples"])
    prompts = training_prompts(tokenizer, examples, None)
    new_tokens = answer_tokens(tokenizer, examples)
    alone = prompts[:max(8, len(prompts) // 8)]  # one at a time is slow: a slice is enough for its rate
    batch = settings["predict_batch"]
    figures |= {"new_tokens": new_tokens, "batch_size": batch, "examples": len(prompts),
                "examples_one_at_a_time": len(alone),
                "one_at_a_time_examples_per_s": generation_rate(model, tokenizer, alone, 1, new_tokens),
                "batched_examples_per_s": generation_rate(model, tokenizer, prompts, batch, new_tokens)}
    figures["speedup"] = figures["batched_examples_per_s"] / figures["one_at_a_time_examples_per_s"]
    figures |= constrained_overhead(model, tokenizer, examples, prompts, batch, new_tokens)
    if device() == "cuda" and figures["speedup"] < settings["prediction_target"]:
        figures["profile"] = profile_generation(model, tokenizer, prompts[:batch], new_tokens,
                                                settings["out"] / "prediction.profile.txt")
    return figures


def constrained_overhead(model, tokenizer, examples, prompts, batch_size: int, new_tokens: int) -> dict:
    """The same batched generation of `make eval` with and without the grounded grammar (prediction.constrained)."""
    figures = {"constrained_mode": CONSTRAINED_MODE}
    for name in ("unconstrained", "constrained"):
        synchronise()
        started = time.perf_counter()
        generate_answers(model, tokenizer, examples, prompts, batch_size, new_tokens,
                         constrained=CONSTRAINED_MODE if name == "constrained" else None)
        synchronise()
        figures[f"{name}_examples_per_s"] = len(prompts) / (time.perf_counter() - started)
    figures["constrained_overhead"] = (figures["unconstrained_examples_per_s"]
                                       / figures["constrained_examples_per_s"] - 1)
    return figures


def profile_generation(model, tokenizer, prompts: list[str], new_tokens: int, path) -> str:
    """One batch under torch's profiler; its top operators written to `path`."""
    profiler = start_profiler()
    generation_rate(model, tokenizer, prompts, len(prompts), new_tokens)
    profiler.stop()
    path.write_text(top_operators(profiler))
    return str(path)
