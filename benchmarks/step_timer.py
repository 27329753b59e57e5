"""Times training steps from inside the trainer: an Axolotl plugin (for `axolotl train`) and the Trainer callback it
adds (also used directly by the seeds' Hugging Face Trainer run), so both ways are measured by the same code.

The figures go to the JSON file named by $BENCH_TIMER_OUT: real (non-padding) tokens per second over the optimizer
steps after `$BENCH_WARMUP_STEPS`, peak GPU memory, parameter counts; with $BENCH_PROFILE_STEPS > 0 the last steps run
under torch's profiler and its top operators are written beside it (…profile.txt).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from transformers import TrainerCallback

try:  # the plugin's base class exists only where Axolotl is installed; the callback works without it
    from axolotl.integrations.base import BasePlugin
except ImportError:  # pragma: no cover - the seeds' run in an environment without Axolotl
    BasePlugin = object


def real_tokens(inputs: dict, pad_token_id: int | None) -> int:
    """Non-padding tokens of a batch. Packed rows mark each example by a segment id in attention_mask, 0 = padding."""
    mask = inputs.get("attention_mask")
    if mask is not None and mask.dim() == 2:
        return int(mask.ne(0).sum())
    ids = inputs["input_ids"]
    return int(ids.ne(pad_token_id).sum()) if pad_token_id is not None else ids.numel()


def synchronise() -> None:
    """Wait for the GPU (a no-op without one), so a clock reads finished work."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepTimer(TrainerCallback):
    def __init__(self, out: str | Path, warmup: int, profile_steps: int = 0):
        self.out, self.warmup, self.profile_steps = Path(out), warmup, profile_steps
        self.tokens, self.marks, self.profiler = 0, [], None

    def count(self, trainer) -> None:
        """Wrap trainer.training_step (called once per micro-batch) to count the real tokens it trains on."""
        step, pad = trainer.training_step, getattr(trainer.processing_class, "pad_token_id", None)

        def counted(model, inputs, *args, **kwargs):
            self.tokens += real_tokens(inputs, pad)
            return step(model, inputs, *args, **kwargs)

        trainer.training_step = counted

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self.parameters = sum(p.numel() for p in model.parameters()) if model is not None else None
        self.trainable = sum(p.numel() for p in model.parameters() if p.requires_grad) if model is not None else None

    def on_step_end(self, args, state, control, **kwargs):
        synchronise()
        self.marks.append((state.global_step, time.perf_counter(), self.tokens))
        if self.profile_steps and state.global_step == state.max_steps - self.profile_steps:
            self.profiler = start_profiler()

    def on_train_end(self, args, state, control, **kwargs):
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(json.dumps(self.figures(), indent=1) + "\n")
        if self.profiler is not None:
            self.profiler.stop()
            self.out.with_suffix(".profile.txt").write_text(top_operators(self.profiler))

    def figures(self) -> dict:
        import torch

        timed = [mark for mark in self.marks if mark[0] >= self.warmup]
        if self.profile_steps:  # profiled steps run slower: they are not part of the rate
            timed = timed[:len(timed) - self.profile_steps]
        (first_step, start, tokens_at_start), (last_step, end, tokens_at_end) = timed[0], timed[-1]
        seconds = end - start
        return {"timed_steps": last_step - first_step, "seconds": seconds, "tokens": tokens_at_end - tokens_at_start,
                "tokens_per_s": (tokens_at_end - tokens_at_start) / seconds if seconds > 0 else None,
                "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
                "parameters": self.parameters, "trainable_parameters": self.trainable}


def start_profiler():
    import torch

    activities = [torch.profiler.ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    profiler = torch.profiler.profile(activities=activities)
    profiler.start()
    return profiler


def top_operators(profiler, rows: int = 25) -> str:
    import torch

    key = "self_cuda_time_total" if torch.cuda.is_available() else "self_cpu_time_total"
    return profiler.key_averages().table(sort_by=key, row_limit=rows)


def timer_from_environment() -> StepTimer:
    return StepTimer(os.environ["BENCH_TIMER_OUT"], int(os.environ.get("BENCH_WARMUP_STEPS", "2")),
                     int(os.environ.get("BENCH_PROFILE_STEPS", "0")))


class StepTimerPlugin(BasePlugin):
    """`plugins: [benchmarks.step_timer.StepTimerPlugin]` in a benchmark twin (never in a recipe)."""

    def post_trainer_create(self, cfg, trainer):
        timer = timer_from_environment()
        timer.count(trainer)
        trainer.add_callback(timer)
