"""A decoder LLM as encoder, a linear layer to BIO labels and a CRF on top (the seeds' Llama-3.2-1B + CRF tagger).

    python -m baselines.crf_tagger train recipes/taggers/llama1b_lora_crf_conll.yml
    python -m baselines.crf_tagger predict recipes/taggers/llama1b_lora_crf_conll.yml --data data/conll2003/test.jsonl \
        --output preds.jsonl

The backbone is frozen; LoRA adapters (peft) on its attention projections, the head and the CRF (pytorch-crf) train.
Each word is represented by its first sub-token's hidden state, so the CRF runs over words. The loss is the seed's
compound: a weighted cross-entropy with label smoothing on the head's scores plus a weighted CRF negative
log-likelihood (0.5, 0.3 and 0.2 by default, all in the config). Transitions that BIO forbids (O -> I-X, B-X -> I-Y,
starting on I-X) are fixed at -10,000 and never trained, so Viterbi decoding always yields valid BIO.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import click
import yaml

from converters.answer_format import Entity, token_boundaries
from converters.io import DataError, exits_on_data_error, write_jsonl
from converters.iob import entities_to_tags
from evaluators.ner import entities_from_tags

FORBIDDEN = -10_000.0
DEFAULTS = {"lora": {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]},
            "loss": {"cross_entropy": 0.5, "crf": 0.3, "label_smoothing": 0.2},
            "epochs": 3, "batch_size": 16, "learning_rate": 2.0e-4, "head_learning_rate": 1.0e-3, "max_length": 256,
            "seed": 42, "bf16": True, "max_examples": None}


def load_config(path: str | Path) -> dict:
    config = yaml.safe_load(Path(path).read_text()).get("tagger")
    if not isinstance(config, dict) or not {"backbone", "train", "output_dir"} <= set(config):
        raise DataError(path, None, "expected a `tagger:` block with backbone, train and output_dir")
    return {**DEFAULTS, **config, "lora": {**DEFAULTS["lora"], **config.get("lora", {})},
            "loss": {**DEFAULTS["loss"], **config.get("loss", {})}}


def bio_labels(labels: list[str]) -> list[str]:
    return ["O"] + [f"{prefix}-{label}" for label in labels for prefix in "BI"]


def forbidden_transitions(labels: list[str]):
    """(start mask, transition mask): True where BIO forbids the move."""
    import torch

    start = torch.tensor([label.startswith("I-") for label in labels])
    moves = torch.zeros(len(labels), len(labels), dtype=torch.bool)
    for j, label in enumerate(labels):
        if label.startswith("I-"):
            for i, previous in enumerate(labels):
                moves[i, j] = previous[2:] != label[2:]
    return start, moves


def build_crf(labels: list[str]):
    import torch
    from torchcrf import CRF

    crf = CRF(len(labels), batch_first=True)
    start, moves = forbidden_transitions(labels)
    with torch.no_grad():
        crf.start_transitions[start] = FORBIDDEN
        crf.transitions[moves] = FORBIDDEN
    crf.start_transitions.register_hook(lambda grad: grad.masked_fill(start, 0.0))
    crf.transitions.register_hook(lambda grad: grad.masked_fill(moves, 0.0))
    return crf


def word_starts(tokenizer, text: str, tokens: list[str], max_length: int) -> tuple[list[int], list[int]]:
    """Input ids, and for each word the index of its first sub-token (words cut off by max_length are dropped)."""
    encoded = tokenizer(text, return_offsets_mapping=True, truncation=True, max_length=max_length)
    starts, first = sorted(token_boundaries(text, tokens)[0]), []
    position = 0
    for start in starts:
        while position < len(encoded["offset_mapping"]) and encoded["offset_mapping"][position][1] <= start:
            position += 1
        if position == len(encoded["offset_mapping"]):
            break
        first.append(position)
    return encoded["input_ids"], first


class CrfTagger:
    """Backbone (peft-wrapped) + linear head + CRF; a plain container so that training stays a short loop."""

    def __init__(self, backbone, labels: list[str], loss: dict):
        import torch

        self.backbone, self.labels, self.loss = backbone, labels, loss
        self.head = torch.nn.Linear(backbone.config.hidden_size, len(labels))
        self.crf = build_crf(labels)

    def to(self, device):
        for part in (self.backbone, self.head, self.crf):
            part.to(device)
        return self

    def emissions(self, input_ids, attention_mask, first_positions, word_mask):
        import torch

        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        words = torch.gather(hidden, 1, first_positions.unsqueeze(-1).expand(-1, -1, hidden.size(-1)))
        return self.head(words.float())

    def compound_loss(self, emissions, tags, word_mask):
        import torch.nn.functional as F

        cross_entropy = F.cross_entropy(emissions[word_mask], tags[word_mask],
                                        label_smoothing=self.loss["label_smoothing"])
        nll = -self.crf(emissions, tags, mask=word_mask, reduction="mean")
        return self.loss["cross_entropy"] * cross_entropy + self.loss["crf"] * nll

    def decode(self, emissions, word_mask) -> list[list[str]]:
        return [[self.labels[i] for i in path] for path in self.crf.decode(emissions, mask=word_mask)]


def load_examples(path, limit=None) -> list[dict]:
    from converters.io import read_jsonl

    examples = [example["gold"] | {"id": example["id"]} for _, example in read_jsonl(path)][:limit]
    if not all(example.get("tokens") for example in examples):
        raise DataError(path, None, "expected tokenised NER examples (gold.tokens)")
    return examples


def batches(tokenizer, examples, labels, max_length, batch_size, shuffle_seed=None):
    """Padded tensors per batch: input ids, attention mask, first-sub-token positions, word mask, word tags."""
    import torch

    label_ids = {label: i for i, label in enumerate(labels)}
    order = list(range(len(examples)))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        chosen = [examples[i] for i in order[start:start + batch_size]]
        encoded = [word_starts(tokenizer, e["text"], e["tokens"], max_length) for e in chosen]
        length = max(len(ids) for ids, _ in encoded)
        words = max(max(len(first) for _, first in encoded), 1)
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([ids + [pad] * (length - len(ids)) for ids, _ in encoded])
        attention = torch.tensor([[1] * len(ids) + [0] * (length - len(ids)) for ids, _ in encoded])
        positions = torch.tensor([first + [0] * (words - len(first)) for _, first in encoded])
        # A sentence truncated to no word at all still needs one "on" step for the CRF: mark word 0.
        word_mask = torch.tensor([[True] * max(len(first), 1) + [False] * (words - max(len(first), 1))
                                  for _, first in encoded])
        tags = torch.tensor([[label_ids[t] for t in entities_to_tags(e["tokens"], [Entity(**x) for x in e["entities"]])
                              [:len(first)]] + [0] * (words - len(first)) for e, (_, first) in zip(chosen, encoded)])
        yield chosen, input_ids, attention, positions, word_mask, tags


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
    """Train; returns the loss of every step."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(config["seed"])
    examples = load_examples(config["train"], config["max_examples"])
    labels = bio_labels(examples[0]["labels"])
    tagger, tokenizer = build_tagger(config, labels)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tagger.to(device)
    optimizer = torch.optim.AdamW([
        {"params": [p for p in tagger.backbone.parameters() if p.requires_grad], "lr": config["learning_rate"]},
        {"params": tagger.head.parameters(), "lr": config["head_learning_rate"]},
        {"params": tagger.crf.parameters(), "lr": config["head_learning_rate"], "weight_decay": 0.0}])
    losses = []
    for epoch in range(config["epochs"]):
        steps = batches(tokenizer, examples, labels, config["max_length"], config["batch_size"], config["seed"] + epoch)
        for _, input_ids, attention, positions, word_mask, tags in tqdm(
                steps, total=-(-len(examples) // config["batch_size"]), desc=f"epoch {epoch + 1}"):
            tensors = [t.to(device) for t in (input_ids, attention, positions, word_mask, tags)]
            emissions = tagger.emissions(*tensors[:4])
            loss = tagger.compound_loss(emissions, tensors[4], tensors[3])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    save_tagger(tagger, tokenizer, Path(config["output_dir"]))
    return losses


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

    model_dir = Path(model_dir)
    labels = json.loads((model_dir / "labels.json").read_text())
    tagger, tokenizer = build_tagger(config, labels, adapter=str(model_dir))
    state = torch.load(model_dir / "head_crf.pt")
    tagger.head.load_state_dict(state["head"])
    tagger.crf.load_state_dict(state["crf"])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tagger.to(device)
    examples = load_examples(data)
    with torch.inference_mode():
        for chosen, *tensors in tqdm(batches(tokenizer, examples, labels, config["max_length"], batch_size),
                                     total=-(-len(examples) // batch_size), desc="tagging"):
            tensors = [t.to(device) for t in tensors]
            paths = tagger.decode(tagger.emissions(*tensors[:4]), tensors[3])
            for example, path in zip(chosen, paths):
                tags = (path + ["O"] * len(example["tokens"]))[:len(example["tokens"])]
                yield {"id": example["id"], "entities": [e._asdict() for e in entities_from_tags(example["tokens"], tags)]}


@click.group()
def main():
    """LLM backbone + linear + CRF tagger (train, predict)."""


@main.command()
@click.argument("config_path", type=click.Path(exists=True, dir_okay=False))
@exits_on_data_error
def train(config_path):
    """Train the tagger a config under recipes/taggers/ describes."""
    losses = train_tagger(load_config(config_path))
    click.echo(f"loss: first step {losses[0]:.3f}, last step {losses[-1]:.3f} ({len(losses)} steps)")


@main.command()
@click.argument("config_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--data", required=True)
@click.option("--output", required=True)
@click.option("--model", default=None, help="Trained folder (default: the config's output_dir).")
@exits_on_data_error
def predict(config_path, data, output, model):
    """Predict entity spans with a trained tagger."""
    config = load_config(config_path)
    count = write_jsonl(output, predict_spans(config, model or config["output_dir"], data))
    click.echo(f"wrote {count} predictions to {output}", err=True)


if __name__ == "__main__":
    main()
