"""What the GPU suite measures on: the converted GMB splits, the recipes, a tokenizer trained on the real data with
each chat template's special tokens, and random-weight models (full size: the real architecture of
training/model_configs/; toy: the CPU twin's tiny model of the same family, training.twin)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from llmner.core.errors import DataError
from llmner.core.io import write_jsonl
from llmner.core.recipes import load_recipe
from llmner.core.schemas import Example, read_records
from llmner.prediction.predict import use_chat_template
from llmner.training.budget import model_config
from llmner.training.twin import build_model, build_tokenizer, message_texts

ROOT = Path(__file__).resolve().parent.parent


class Skipped(Exception):
    """A measurement that cannot run here (what is missing is the message); recorded, not fatal."""


def has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def recipe(name: str) -> dict:
    return load_recipe(ROOT / "recipes" / f"{name}.yml")


def gmb_files(train: Path, out: Path, data_dir: Path) -> tuple[Path, Path]:
    """The GMB splits when --data was left at its default (`train`): it and test.jsonl beside it (make data) if
    there, else converted here from DATA_DIR/gmb (or shared/data/gmb, where the GPU machine's checkout carries it)."""
    test = train.with_name("test.jsonl")
    if train.exists() and test.exists():
        return train.resolve(), test.resolve()
    raw = next((p for p in (data_dir / "gmb/ner_dataset.csv", ROOT / "shared/data/gmb/ner_dataset.csv") if p.exists()),
               None)
    if raw is None:
        raise DataError(data_dir / "gmb/ner_dataset.csv", None, "expected GMB's raw file to convert (or converted "
                                                                "examples in data/gmb, or --data)")
    converted = []
    for split in ("train", "test"):
        target = out / "data" / f"{split}.jsonl"
        if not target.exists():
            subprocess.run([sys.executable, "-m", "llmner", "data", "convert", "gmb", "--input", str(raw), "--output",
                            str(target), "--split", split], cwd=ROOT, check=True)
        converted.append(target)
    return converted[0], converted[1]


def given_files(data: str, eval_data: str | None) -> tuple[Path, Path]:
    """The examples given: --data, and --eval-data or test.jsonl beside --data (never a conversion in their place)."""
    test = Path(eval_data) if eval_data else Path(data).with_name("test.jsonl")
    if not eval_data and not test.exists():
        raise DataError(test, None, "expected converted test examples beside --data (or give --eval-data)")
    return Path(data).resolve(), test.resolve()


def subset(path: Path, limit: int, out: Path) -> Path:
    """The first `limit` examples, so Axolotl tokenises only what the timed steps consume (written on as they were
    read: checked, never rebuilt)."""
    write_jsonl(out, read_records(path, limit))
    return out


def tokenizer_for(template: str, examples: list[Example], out: Path, toy: bool):
    """A byte-level BPE trained on the real data with the template's special tokens (the real ones are not here)."""
    from transformers import AutoTokenizer

    folder = out / "tokenizers" / template
    if not (folder / "tokenizer.json").exists():
        build_tokenizer(message_texts(examples), template, folder, vocab_size=1200 if toy else 32000)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    use_chat_template(tokenizer, template)
    return tokenizer


def architecture(base_model: str, tokenizer):
    """The real architecture's published config, with the special tokens of the tokenizer trained here."""
    from transformers import AutoConfig

    settings = {k: v for k, v in model_config(base_model).items() if not k.startswith("_") and k != "architectures"}
    settings["vocab_size"] = max(len(tokenizer), settings["vocab_size"])
    settings |= {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
                 "pad_token_id": tokenizer.pad_token_id}
    return AutoConfig.for_model(settings.pop("model_type"), **settings)


def random_model(base_model: str, tokenizer, out: Path, toy: bool) -> Path:
    """Random weights saved with the tokenizer: toy, the twin's tiny model (CPU); else the real architecture, built
    on the GPU in bf16 where there is one."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = out / "models" / (base_model.split("/")[-1].lower() + ("_toy" if toy else ""))
    if (folder / "config.json").exists():
        return folder
    if toy:
        build_model(base_model, tokenizer, folder)
    else:
        dtype = torch.bfloat16 if device() == "cuda" else torch.float32
        torch.manual_seed(0)
        with torch.device(device()):
            model = AutoModelForCausalLM.from_config(architecture(base_model, tokenizer), dtype=dtype)
        model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
