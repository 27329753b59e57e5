"""Realistic wrong answers for the HTML pages' tests: the gold entities of each example, perturbed the way a small
fine-tuned model errs (an entity missed, relabelled, its boundary slipped by a token, an invented one, a mention not in
the text, an answer that is not an answer), rendered as a generated `output` by the example's answer format."""

from __future__ import annotations

import json
import random
from pathlib import Path

from llmner.core.answer_format import render_answer
from llmner.core.spans import Entity, RenderError, token_offsets


def labels_of(gold: dict) -> list[str]:
    return gold.get("labels") or sorted({e["label"] for e in gold["entities"]}) or ["X"]


def perturbed_entities(gold: dict, rng: random.Random, rate: float) -> list[Entity]:
    labels = labels_of(gold)
    offsets = token_offsets(gold["text"], gold["tokens"]) if gold.get("tokens") else []
    found = []
    for entity in map(Entity.of, gold["entities"]):
        roll = rng.random()
        if roll < rate / 3:
            continue  # missed
        if roll < rate * 2 / 3:
            found.append(entity._replace(label=rng.choice(labels)))  # (sometimes the same label: right after all)
        elif roll < rate and offsets:  # the boundary takes in the next token, where there is one
            following = [end for start, end in offsets if start >= entity.end]
            found.append(entity._replace(end=following[0]) if following else entity)
        else:
            found.append(entity)
    if offsets and rng.random() < rate / 2:  # an invented entity on a token no gold entity covers
        free = [(s, e) for s, e in offsets if not any(g["start"] < e and s < g["end"] for g in gold["entities"])
                and gold["text"][s:e].isalpha()]
        if free:
            start, end = rng.choice(free)
            found.append(Entity(start, end, rng.choice(labels)))
    return sorted(set(found))


def perturbed_output(gold: dict, rng: random.Random, rate: float) -> str:
    roll = rng.random()
    if roll < rate / 20:
        return "Sorry, I cannot help with that."  # unparseable (no colon: not read as a TYPE line)
    entities = perturbed_entities(gold, rng, rate)
    # overlapping spans cannot be written as an answer: keep the first of each overlapping run
    kept = [e for i, e in enumerate(entities) if not any(p.end > e.start for p in entities[:i])]
    try:
        output = render_answer(gold["text"], kept, gold.get("answer_format", "lines"), gold.get("tokens"))
    except RenderError:
        output = render_answer(gold["text"], [], gold.get("answer_format", "lines"), gold.get("tokens"))
    if roll > 1 - rate / 10:
        output = (output if kept else "") + ("\n" if kept else "") + f"{rng.choice(labels_of(gold))}: Zorblax"
    return output


def write_perturbed(gold_path: str | Path, out_path: str | Path, seed: int = 0, rate: float = 0.3) -> None:
    """Predictions JSONL for every example of `gold_path`, each entity wrong with probability about `rate`."""
    rng = random.Random(seed)
    lines = []
    for line in Path(gold_path).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        lines.append(json.dumps({"id": record["id"], "output": perturbed_output(record["gold"], rng, rate)},
                                ensure_ascii=False))
    Path(out_path).write_text("\n".join(lines) + "\n", encoding="utf-8")
