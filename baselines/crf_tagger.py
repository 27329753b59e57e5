"""A decoder LLM as encoder, a linear layer to BIO labels and a CRF on top (the seeds' Llama-3.2-1B + CRF tagger).

    llmner baseline crf train baselines/configs/llama1b_lora_crf_conll.yml
    llmner baseline crf predict baselines/configs/llama1b_lora_crf_conll.yml --data data/conll2003/test.jsonl \
        --output preds.jsonl

The backbone is frozen; LoRA adapters (peft) on its attention projections, the head and the CRF (pytorch-crf) train.
Each word is represented by its first sub-token's hidden state, so the CRF runs over words. The loss is the seed's
compound: a weighted cross-entropy with label smoothing on the head's scores plus a weighted CRF negative
log-likelihood (0.5, 0.3 and 0.2 by default, all in the config). Transitions that BIO forbids (O -> I-X, B-X -> I-Y,
starting on I-X) are fixed at -10,000 and never trained, so Viterbi decoding always yields valid BIO.

Training saves a checkpoint every `save_steps` steps (output_dir/checkpoint.pt: the trained weights, the optimiser, the
random state and the losses so far); the same command run again goes on from it, and ends where an uncut run would.
"""

from __future__ import annotations

import hashlib
import json
import time
from itertools import islice
from pathlib import Path

import click

from llmner.baselines.crf_model import CrfTagger, batches
from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.examples import ner_examples
from llmner.core.io import atomic_output, check_writable, read_json, write_jsonl
from llmner.core.iob import bio_labels, entities_from_tagger
from llmner.core.recipes import load_recipe
from llmner.core.schemas import NerPrediction

DEFAULTS = {"lora": {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]},
            "loss": {"cross_entropy": 0.5, "crf": 0.3, "label_smoothing": 0.2},
            "epochs": 3, "batch_size": 16, "learning_rate": 2.0e-4, "head_learning_rate": 1.0e-3, "max_length": 256,
            "seed": 42, "bf16": True, "max_examples": None, "save_steps": 50}
# Settings that do not change what is trained: a checkpoint written under other values of these still resumes.
RESUMABLE_ACROSS = {"save_steps"}


def load_config(path: str | Path) -> dict:
    config = load_recipe(path).get("tagger")
    if not isinstance(config, dict) or not {"backbone", "train", "output_dir"} <= set(config):
        raise DataError(path, None, "expected a `tagger:` block with backbone, train and output_dir")
    return {**DEFAULTS, **config, "lora": {**DEFAULTS["lora"], **config.get("lora", {})},
            "loss": {**DEFAULTS["loss"], **config.get("loss", {})}}


def build_tagger(config: dict, labels: list[str], adapter: str | None = None):
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModel, AutoTokenizer

    dtype = torch.bfloat16 if config["bf16"] and torch.cuda.is_available() else torch.float32
    backbone = AutoModel.from_pretrained(config["backbone"], dtype=dtype)
    if adapter:
        backbone = PeftModel.from_pretrained(backbone, adapter)
    else:  # get_peft_model freezes the backbone; only the adapters train
        lora = config["lora"]
        backbone = get_peft_model(backbone, LoraConfig(r=lora["r"], lora_alpha=lora["alpha"],
                                                       lora_dropout=lora["dropout"],
                                                       target_modules=lora["target_modules"]))
    tokenizer = AutoTokenizer.from_pretrained(adapter or config["backbone"])
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return CrfTagger(backbone, labels, config["loss"]), tokenizer


def train_tagger(config: dict) -> list[float]:
    """Train, going on from output_dir/checkpoint.pt where a cut run left one; returns the loss of every step."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(config["seed"])
    examples = ner_examples(config["train"], config["max_examples"], tokenised=True, labelled=True)
    labels = bio_labels(examples[0].gold.labels)
    tagger, tokenizer = build_tagger(config, labels)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tagger.to(device)
    optimizer = torch.optim.AdamW([
        {"params": [p for p in tagger.backbone.parameters() if p.requires_grad], "lr": config["learning_rate"]},
        {"params": tagger.head.parameters(), "lr": config["head_learning_rate"]},
        {"params": tagger.crf.parameters(), "lr": config["head_learning_rate"], "weight_decay": 0.0}])
    out = Path(config["output_dir"])
    checkpoint = out / "checkpoint.pt"
    losses, seconds = resume(checkpoint, config, tagger, optimizer)
    per_epoch = -(-len(examples) // config["batch_size"])
    started = time.time()
    for epoch in range(len(losses) // per_epoch, config["epochs"]):
        done = len(losses) - epoch * per_epoch  # steps of this epoch a cut run already took
        steps = batches(tokenizer, examples, labels, config["max_length"], config["batch_size"], config["seed"] + epoch)
        for _, input_ids, attention, positions, word_mask, tags in tqdm(
                islice(steps, done, None), total=per_epoch, initial=done, desc=f"epoch {epoch + 1}"):
            tensors = [t.to(device) for t in (input_ids, attention, positions, word_mask, tags)]
            emissions = tagger.emissions(*tensors[:4])
            loss = tagger.compound_loss(emissions, tensors[4], tensors[3])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if config["save_steps"] and len(losses) % config["save_steps"] == 0:
                save_checkpoint(checkpoint, config, tagger, optimizer, losses, seconds + time.time() - started)
    save_tagger(tagger, tokenizer, out)
    (out / "training.json").write_text(json.dumps({"steps": len(losses), "seconds": round(
        seconds + time.time() - started, 1)}) + "\n", encoding="utf-8")
    checkpoint.unlink(missing_ok=True)  # the saved tagger supersedes it
    return losses


def trained_state(tagger) -> dict:
    """What training changes: the adapters (the backbone is frozen), the head and the CRF."""
    return {"adapters": {name: p.detach().clone() for name, p in tagger.backbone.named_parameters() if p.requires_grad},
            "head": tagger.head.state_dict(), "crf": tagger.crf.state_dict()}


def save_checkpoint(path: Path, config: dict, tagger, optimizer, losses: list[float], seconds: float) -> None:
    """Written whole or not at all (atomic_output), so a kill mid-write leaves the previous one."""
    import torch

    with atomic_output(path, "wb") as handle:
        torch.save({"config": run_identity(config), "state": trained_state(tagger),
                    "optimizer": optimizer.state_dict(), "losses": losses, "seconds": seconds,
                    "rng": torch.get_rng_state()}, handle)


def trained_config(config: dict) -> dict:
    """The config as far as it decides what is trained.

    >>> trained_config({"seed": 42, "save_steps": 50})
    {'seed': 42}
    """
    return {key: value for key, value in config.items() if key not in RESUMABLE_ACROSS}


def run_identity(config: dict) -> dict:
    """What a checkpoint must share with the run going on from it: the config as far as it decides what is trained,
    and the training file's bytes (a file written again with other sentences under the same name is another run)."""
    digest = hashlib.sha256(Path(config["train"]).read_bytes()).hexdigest()
    return trained_config(config) | {"train_sha256": digest}


def resume(path: Path, config: dict, tagger, optimizer) -> tuple[list[float], float]:
    """Load a cut run's checkpoint into the tagger and the optimiser: its losses and its training seconds so far
    (none and 0.0 without one). A checkpoint of another config is refused: going on from it would mix two runs."""
    import torch

    if not path.exists():
        return [], 0.0
    saved = torch.load(path, weights_only=True)
    identity = run_identity(config)
    changed = sorted(key for key in {*saved["config"], *identity} if saved["config"].get(key) != identity.get(key))
    if changed:
        raise DataError(path, None, f"expected a checkpoint of this config, but it was written with other "
                                    f"{', '.join(changed)} (delete it to start over)")
    parameters = dict(tagger.backbone.named_parameters())
    with torch.no_grad():
        for name, value in saved["state"]["adapters"].items():
            parameters[name].copy_(value)
    tagger.head.load_state_dict(saved["state"]["head"])
    tagger.crf.load_state_dict(saved["state"]["crf"])
    optimizer.load_state_dict(saved["optimizer"])
    torch.set_rng_state(saved["rng"])
    return saved["losses"], saved["seconds"]


def save_tagger(tagger, tokenizer, out: Path) -> None:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    tagger.backbone.save_pretrained(out)
    tokenizer.save_pretrained(out)
    torch.save({"head": tagger.head.state_dict(), "crf": tagger.crf.state_dict()}, out / "head_crf.pt")
    (out / "labels.json").write_text(json.dumps(tagger.labels))


def predict_spans(config: dict, model_dir: str | Path, data: str | Path, batch_size: int = 32):
    import torch
    from tqdm import tqdm

    examples = ner_examples(data, tokenised=True)  # bad data is found before a model is loaded
    model_dir = Path(model_dir)
    labels = read_json(model_dir / "labels.json", list)
    tagger, tokenizer = build_tagger(config, labels, adapter=str(model_dir))
    state = torch.load(model_dir / "head_crf.pt")
    tagger.head.load_state_dict(state["head"])
    tagger.crf.load_state_dict(state["crf"])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tagger.to(device)
    with torch.inference_mode():
        for chosen, *tensors in tqdm(batches(tokenizer, examples, labels, config["max_length"], batch_size),
                                     total=-(-len(examples) // batch_size), desc="tagging"):
            tensors = [t.to(device) for t in tensors]
            paths = tagger.decode(tagger.emissions(*tensors[:4]), tensors[3])
            for example, path in zip(chosen, paths):
                tokens = example.gold.tokens
                tags = (path + ["O"] * len(tokens))[:len(tokens)]
                yield NerPrediction(id=example.id, entities=[e._asdict() for e in entities_from_tagger(tokens, tags)])


@click.group()
def main():
    """LLM backbone + linear + CRF tagger (train, predict)."""


def config_argument():
    """CONFIG: a tagger config under baselines/configs/ (a missing or malformed one is the loader's one-line error)."""
    return click.argument("config_path", metavar="CONFIG")


@main.command()
@config_argument()
def train(config_path):
    """Train the tagger a config under baselines/configs/ describes."""
    losses = train_tagger(load_config(config_path))
    click.echo(f"loss: first step {losses[0]:.3f}, last step {losses[-1]:.3f} ({len(losses)} steps)")


@main.command()
@config_argument()
@options.data()
@options.output("Predictions JSONL (spans).")
@options.model("Trained folder (default: the config's output_dir).", required=False)
def predict(config_path, data, output, model):
    """Predict entity spans with a trained tagger."""
    config = load_config(config_path)
    check_writable(output)
    count = write_jsonl(output, predict_spans(config, model or config["output_dir"], data))
    click.echo(f"wrote {count} predictions to {output}", err=True)

