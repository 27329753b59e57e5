"""The tagger itself: a backbone's first-sub-token states, a linear layer to BIO labels and a CRF (pytorch-crf)
whose forbidden BIO transitions are fixed at -10,000 and never trained, so Viterbi decoding always yields valid BIO;
and the padded word-level batches it reads."""

from __future__ import annotations

import random

from llmner.core.iob import entities_to_tags
from llmner.core.spans import token_offsets

FORBIDDEN = -10_000.0


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
    starts, first = [start for start, _ in token_offsets(text, tokens)], []
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


def batches(tokenizer, examples, labels, max_length, batch_size, shuffle_seed=None):
    """Padded tensors per batch: input ids, attention mask, first-sub-token positions, word mask, word tags."""
    import torch

    label_ids = {label: i for i, label in enumerate(labels)}
    order = list(range(len(examples)))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        chosen = [examples[i] for i in order[start:start + batch_size]]
        encoded = [word_starts(tokenizer, e.gold.text, e.gold.tokens, max_length) for e in chosen]
        length = max(len(ids) for ids, _ in encoded)
        words = max(max(len(first) for _, first in encoded), 1)
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([ids + [pad] * (length - len(ids)) for ids, _ in encoded])
        attention = torch.tensor([[1] * len(ids) + [0] * (length - len(ids)) for ids, _ in encoded])
        positions = torch.tensor([first + [0] * (words - len(first)) for _, first in encoded])
        # A sentence truncated to no word at all still needs one "on" step for the CRF: mark word 0.
        word_mask = torch.tensor([[True] * max(len(first), 1) + [False] * (words - max(len(first), 1))
                                  for _, first in encoded])
        tags = torch.tensor([[label_ids[t] for t in entities_to_tags(e.gold.tokens, [x.entity for x in e.gold.entities])
                              [:len(first)]] + [0] * (words - len(first)) for e, (_, first) in zip(chosen, encoded)])
        yield chosen, input_ids, attention, positions, word_mask, tags
