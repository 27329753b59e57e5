"""An Axolotl plugin that records, in the output folder, the system prompts the model is trained on.

Prediction reads the record (core.prompt_record) and asks the fine-tuned model in those words, whatever prompt the
examples it is given carry: a recipe may train on the compact prompt while the converted test files keep the full
instruction the untouched model needs. Listed in a recipe's `plugins:`, it writes `system_prompts.json` before the
model loads, from the recipe's local JSONL datasets (rank 0 only).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from axolotl.integrations.base import BasePlugin

from llmner.core.io import read_jsonl
from llmner.core.prompt_record import RECORD_NAME, prompts_of

LOG = logging.getLogger(__name__)


def write_record(datasets: list[dict], output_dir: str | Path) -> dict[str, str]:
    """Record each dataset's shared system prompt; a dataset without one shared prompt is left out (prediction then
    uses the examples' own prompts for it)."""
    examples = (record for entry in datasets if str(entry.get("path", "")).endswith(".jsonl")
                and Path(entry["path"]).is_file() for _, record in read_jsonl(entry["path"]))
    record = {dataset: prompt for dataset, prompt in prompts_of(examples).items() if prompt is not None}
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    (Path(output_dir) / RECORD_NAME).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
    return record


class PromptRecordPlugin(BasePlugin):
    def pre_model_load(self, cfg):
        if int(os.environ.get("RANK", "0")) == 0:
            record = write_record(cfg.datasets or [], cfg.output_dir)
            LOG.info("recorded the system prompts of %s in %s", ", ".join(record) or "no dataset", cfg.output_dir)
