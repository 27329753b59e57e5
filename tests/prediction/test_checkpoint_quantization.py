"""A QLoRA run's `checkpoint-N` is scored on the 4-bit base it learned against, as its final folder is: the Trainer
saves no config.json in a checkpoint, so the settings come from the run's folder above it (Axolotl writes that
config when training starts), and a checkpoint whose run says nothing is refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from llmner.core.errors import DataError
from llmner.prediction.predict import effective_quantization, four_bit_config, trained_quantization
from llmner.training.twin import make_twin
from tests.constants import ROOT

NF4 = {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True,
       "quant_method": "bitsandbytes"}


def adapter(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "base", "peft_type": "LORA"}))
    return folder


def test_a_checkpoint_takes_its_runs_quantization(tmp_path):
    run = tmp_path / "run"
    checkpoint = adapter(run / "checkpoint-2")
    (run / "config.json").write_text(json.dumps({"model_type": "qwen2", "quantization_config": NF4}))
    assert trained_quantization(str(checkpoint)) == NF4
    assert effective_quantization(str(checkpoint), None) == "4bit"
    assert effective_quantization(str(checkpoint), "none") is None  # asked for: bf16, as before
    assert four_bit_config(str(checkpoint), None).bnb_4bit_use_double_quant is True


def test_a_checkpoint_of_a_bf16_run_stays_bf16(tmp_path):
    run = tmp_path / "run"
    checkpoint = adapter(run / "checkpoint-2")
    (run / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    assert effective_quantization(str(checkpoint), None) is None


def test_a_checkpoint_whose_run_says_nothing_is_refused_unless_told(tmp_path):
    checkpoint = adapter(tmp_path / "copied" / "checkpoint-7")
    with pytest.raises(DataError) as error:
        effective_quantization(str(checkpoint), None)
    assert str(tmp_path / "copied" / "config.json") in str(error.value) and "--quantization" in str(error.value)
    assert effective_quantization(str(checkpoint), "4bit") == "4bit"
    assert effective_quantization(str(checkpoint), "none") is None
    assert four_bit_config(str(checkpoint), None).bnb_4bit_quant_type == "nf4"


@pytest.mark.training
def test_a_trained_qlora_twins_checkpoint_loads_its_base_in_4_bits(tmp_path):
    """Old code: the final folder resolved to 4-bit, checkpoint-2 to none (a bf16 base under nf4-trained updates)."""
    pool = tmp_path / "pool.jsonl"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "AXOLOTL_DO_NOT_TRACK": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    subprocess.run([sys.executable, "-m", "llmner", "data", "convert", "wnut17", "--input",
                    str(ROOT / "samples/wnut17/train.conll"), "--output", str(pool), "--split", "train"],
                   check=True, cwd=ROOT, env=env, capture_output=True)
    twin = make_twin(ROOT / "recipes" / "ds15b_qlora.yml", tmp_path / "twin", pool, examples=16, max_steps=2)
    config = yaml.safe_load(twin.read_text()) | {"save_strategy": "steps", "save_steps": 2}
    twin.write_text(yaml.safe_dump(config))
    result = subprocess.run(["axolotl", "train", str(twin), "--launcher", "python"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    output = Path(config["output_dir"])
    checkpoint = output / "checkpoint-2"
    assert (checkpoint / "adapter_config.json").exists() and not (checkpoint / "config.json").exists()
    assert trained_quantization(str(output))["load_in_4bit"] is True
    assert trained_quantization(str(checkpoint)) == trained_quantization(str(output))
    assert effective_quantization(str(checkpoint), None) == effective_quantization(str(output), None) == "4bit"
