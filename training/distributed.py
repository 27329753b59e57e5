"""An Axolotl plugin, run inside every rank, that makes a distributed run say what it really was and refuse to run as
something else.

Several wrong launches exit 0: accelerate starts one plain process per node unless told `--multi_gpu` (each node of
a one-GPU-per-node job then trains its own copy into the same output_dir), and a DeepSpeed config that fails to
apply leaves plain DDP. Only the distributed facts tell them apart, so:

- when training starts (Axolotl's `load_datasets` hook, the first a training run calls, before data or model are
  loaded; not `register`, which config validation calls outside any rank too), a rank that sees a world size
  other than `LLMNER_WORLD_SIZE` (which the Slurm scripts export: nodes x GPUs per node) stops with one line, exit 2;
- when training begins, the first rank writes `OUTPUT_DIR/distributed.json`: world size, backend, the wrapper
  around the model and accelerate's distributed type, as the run itself has them; at the end it adds the logged
  steps at full precision (`log_history`: loss and gradient norm per step), so two runs can be compared.

`llmner twin` lists the plugin; `llmner train` adds it to the run wherever `LLMNER_WORLD_SIZE` is set.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from axolotl.integrations.base import BasePlugin
from transformers import TrainerCallback

EXPECTED = "LLMNER_WORLD_SIZE"
FACTS = "distributed.json"


def world_size_error(environ: dict) -> str | None:
    """The one line a rank prints when its world is not the one allocated, or None.

    >>> print(world_size_error({"LLMNER_WORLD_SIZE": "2"}))  # doctest: +NORMALIZE_WHITESPACE
    error: WORLD_SIZE: expected 2 processes in one world (LLMNER_WORLD_SIZE, from the allocation), this rank sees 1:
    a launch without --multi_gpu trains a separate copy per node
    >>> world_size_error({"LLMNER_WORLD_SIZE": "2", "WORLD_SIZE": "2"}) is None
    True
    """
    expected = environ.get(EXPECTED)
    if not expected:
        return None
    seen = int(environ.get("WORLD_SIZE", "1"))
    if seen == int(expected):
        return None
    return (f"error: WORLD_SIZE: expected {expected} processes in one world ({EXPECTED}, from the allocation), "
            f"this rank sees {seen}: a launch without --multi_gpu trains a separate copy per node")


def distributed_facts(trainer) -> dict:
    """What the run is, read from torch.distributed, the wrapped model and accelerate's state."""
    import torch.distributed as dist

    initialised = dist.is_available() and dist.is_initialized()
    return {"world_size": dist.get_world_size() if initialised else 1,
            "backend": dist.get_backend() if initialised else None,
            "wrapper": type(trainer.model_wrapped).__name__,
            "distributed_type": str(trainer.accelerator.state.distributed_type.value),
            "expected_world_size": int(os.environ[EXPECTED]) if os.environ.get(EXPECTED) else None}


class _RecordFacts(TrainerCallback):
    def __init__(self, trainer):
        self.trainer = trainer
        self.facts: dict = {}

    def write(self, args, state):
        if state.is_world_process_zero:
            Path(args.output_dir).mkdir(parents=True, exist_ok=True)
            (Path(args.output_dir) / FACTS).write_text(json.dumps(self.facts, indent=1) + "\n", encoding="utf-8")

    def on_train_begin(self, args, state, control, **kwargs):
        facts = distributed_facts(self.trainer)
        expected = facts["expected_world_size"]
        if expected is not None and facts["world_size"] != expected:  # the process group, not only the environment
            print(f"error: torch.distributed: expected a world of {expected}, found {facts['world_size']}",
                  file=sys.stderr)
            sys.exit(2)
        self.facts = facts
        self.write(args, state)

    def on_train_end(self, args, state, control, **kwargs):
        self.facts["log_history"] = state.log_history
        self.write(args, state)


class DistributedPlugin(BasePlugin):
    def load_datasets(self, cfg, preprocess: bool = False):
        message = None if preprocess else world_size_error(os.environ)
        if message:
            print(message, file=sys.stderr)
            sys.exit(2)
        return None  # Axolotl's own loading goes on

    def add_callbacks_post_trainer(self, cfg, trainer):
        return [_RecordFacts(trainer)]
