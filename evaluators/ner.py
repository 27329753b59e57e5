"""Strict NER scoring over plain spans: entity, token and sentence level, and an error analysis.

A predicted entity is correct only if its start, end and label all equal a gold entity's; duplicates count once.
On token-aligned spans this is seqeval's ``mode="strict", scheme=IOB2`` exactly (tested on the real test sets).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from llmner.core.spans import Entity, token_offsets
from llmner.evaluators.metrics import macro, prf

NONE = "(none)"  # the row/column of the confusion matrix for a span the other side does not have


@dataclass
class NerItem:
    """One gold example with what was predicted for it."""

    id: str
    text: str
    gold: frozenset[Entity]
    predicted: frozenset[Entity]
    tokens: list[str] | None = None
    ungrounded: frozenset[tuple[str, str]] = frozenset()  # (label, mention) not found in the text: false positives


def entity_counts(items: list[NerItem]) -> dict[str, Counter]:
    counts = {"tp": Counter(), "fp": Counter(), "fn": Counter()}
    for item in items:
        for entity in item.gold & item.predicted:
            counts["tp"][entity.label] += 1
        for entity in item.predicted - item.gold:
            counts["fp"][entity.label] += 1
        for entity in item.gold - item.predicted:
            counts["fn"][entity.label] += 1
        for label, _ in item.ungrounded:
            counts["fp"][label] += 1
    return counts


def entity_scores(items: list[NerItem]) -> dict:
    """Strict entity scores: a prediction counts only with the exact start, end and label of a gold entity.

    >>> gold = frozenset({Entity(0, 5, "LOC"), Entity(10, 14, "PER")})
    >>> item = NerItem("x/0", "Japan and Mary", gold, frozenset({Entity(0, 5, "LOC"), Entity(10, 14, "ORG")}))
    >>> entity_scores([item])["micro"]
    {'precision': 0.5, 'recall': 0.5, 'f1': 0.5, 'tp': 1, 'fp': 1, 'fn': 1}
    """
    counts = entity_counts(items)
    tp, fp, fn = (sum(counts[k].values()) for k in ("tp", "fp", "fn"))
    # Like seqeval: the labels averaged are those seen in gold or predictions.
    labels = sorted(set(counts["tp"]) | set(counts["fp"]) | set(counts["fn"]))
    per_label = {label: prf(counts["tp"][label], counts["fp"][label], counts["fn"][label])
                 | {"support": counts["tp"][label] + counts["fn"][label]} for label in labels}
    return {"micro": prf(tp, fp, fn) | {"tp": tp, "fp": fp, "fn": fn}, "macro": macro(per_label),
            "per_label": per_label}


def token_spans(item: NerItem) -> list[tuple[int, int]]:
    """The units scored at token level: the gold tokens, or each non-space character of an untokenised text."""
    if not item.tokens:
        return [(i, i + 1) for i, char in enumerate(item.text) if not char.isspace()]
    return token_offsets(item.text, item.tokens)


def token_labels(spans: list[tuple[int, int]], entities: frozenset[Entity]) -> list[str]:
    """Each token's entity type ('O' outside): the first entity (by start) that covers the whole token."""
    labels = ["O"] * len(spans)
    for entity in sorted(entities, reverse=True):  # earlier entities written last, so they win
        for i, (start, end) in enumerate(spans):
            if entity.start <= start and end <= entity.end:
                labels[i] = entity.label
    return labels


def token_counts(item: NerItem) -> tuple[int, int, int, int, int]:
    """(tp, fp, fn, correct, total) over the example's tokens, each token read as its entity type or O."""
    tp = fp = fn = correct = total = 0
    spans = token_spans(item)
    for gold, predicted in zip(token_labels(spans, item.gold), token_labels(spans, item.predicted)):
        total += 1
        correct += gold == predicted
        tp += gold == predicted != "O"
        fp += predicted != "O" and predicted != gold
        fn += gold != "O" and predicted != gold
    return tp, fp, fn, correct, total


def token_scores(items: list[NerItem], counts: list[tuple[int, ...]] | None = None) -> dict:
    """Token micro P/R/F1 and accuracy; `counts` are the items' `token_counts` where the caller has them already."""
    counts = [token_counts(item) for item in items] if counts is None else counts
    tp, fp, fn, correct, total = (sum(row[k] for row in counts) for k in range(5))
    return {"micro": prf(tp, fp, fn), "accuracy": correct / total if total else 0.0}


def entity_row(item: NerItem) -> tuple[int, int, int]:
    """The example's strict (tp, fp, fn), as `entity_counts` counts them: its share of the micro figures."""
    return (len(item.gold & item.predicted), len(item.predicted - item.gold) + len(item.ungrounded),
            len(item.gold - item.predicted))


def sentence_accuracy(items: list[NerItem]) -> float:
    return sum(item.gold == item.predicted for item in items) / len(items) if items else 0.0


def _overlaps(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


@dataclass
class ErrorAnalysis:
    label_confusion: Counter = field(default_factory=Counter)  # (gold label, predicted label) on the same span
    boundary: Counter = field(default_factory=Counter)  # predicted span overlaps a gold one of its label
    boundary_and_label: int = 0  # overlaps gold spans of other labels only
    spurious: Counter = field(default_factory=Counter)  # overlaps no gold span
    missed: Counter = field(default_factory=Counter)  # gold span overlapped by no prediction
    confusion: Counter = field(default_factory=Counter)  # (gold or NONE, predicted or NONE) over exact spans

    def as_dict(self) -> dict:
        return {"label_confusion": {f"{g}->{p}": n for (g, p), n in self.label_confusion.most_common()},
                "boundary": dict(self.boundary.most_common()), "boundary_and_label": self.boundary_and_label,
                "spurious": dict(self.spurious.most_common()), "missed": dict(self.missed.most_common())}


KINDS = ("missed", "spurious", "wrong label", "wrong boundary", "both")  # "both": wrong boundary and label


@dataclass(frozen=True)
class EntityError:
    """One wrong entity of an example: `entity` is the predicted span (the gold one where `kind` is missed; None for
    a mention not found in the text, then `mention` holds it), `gold` the gold span it was taken for, if any."""

    kind: str
    label: str  # the predicted label (the gold one where missed)
    entity: Entity | None
    gold: Entity | None = None
    mention: str = ""


def entity_errors(item: NerItem) -> list[EntityError]:
    """Each wrong entity of one example, classified the way the report's `errors` counts them.

    >>> gold = frozenset({Entity(0, 5, "LOC"), Entity(10, 14, "PER")})
    >>> item = NerItem("x/0", "Japan and Mary", gold, frozenset({Entity(0, 5, "ORG")}), ungrounded={("PER", "Bo")})
    >>> [(e.kind, e.label) for e in entity_errors(item)]
    [('wrong label', 'ORG'), ('missed', 'PER'), ('spurious', 'PER')]
    """
    gold_by_span = {(e.start, e.end): e for e in item.gold}
    predicted_spans = {(e.start, e.end) for e in item.predicted}
    found = []
    for entity in sorted(item.predicted - item.gold):
        same_span = gold_by_span.get((entity.start, entity.end))
        overlapping = sorted(g for g in item.gold if _overlaps(g, entity))
        same_label = [g for g in overlapping if g.label == entity.label]
        if same_span is not None:
            found.append(EntityError("wrong label", entity.label, entity, same_span))
        elif same_label:
            found.append(EntityError("wrong boundary", entity.label, entity, same_label[0]))
        elif overlapping:
            found.append(EntityError("both", entity.label, entity, overlapping[0]))
        else:
            found.append(EntityError("spurious", entity.label, entity))
    for entity in sorted(item.gold - item.predicted):
        if (entity.start, entity.end) not in predicted_spans and not any(_overlaps(entity, p) for p in item.predicted):
            found.append(EntityError("missed", entity.label, entity))
    found += [EntityError("spurious", label, None, mention=mention) for label, mention in sorted(item.ungrounded)]
    return found


def analyse_errors(items: list[NerItem]) -> ErrorAnalysis:
    analysis = ErrorAnalysis()
    for item in items:
        predicted_spans = {(e.start, e.end) for e in item.predicted}
        for entity in item.gold & item.predicted:
            analysis.confusion[entity.label, entity.label] += 1
        for error in entity_errors(item):
            if error.kind == "wrong label":
                analysis.label_confusion[error.gold.label, error.label] += 1
                analysis.confusion[error.gold.label, error.label] += 1
            elif error.kind == "missed":
                analysis.missed[error.label] += 1
            else:
                analysis.confusion[NONE, error.label] += 1
                if error.kind == "wrong boundary":
                    analysis.boundary[error.label] += 1
                elif error.kind == "both":
                    analysis.boundary_and_label += 1
                else:
                    analysis.spurious[error.label] += 1
        for entity in item.gold - item.predicted:  # missed, or the gold side of a boundary error
            if (entity.start, entity.end) not in predicted_spans:
                analysis.confusion[entity.label, NONE] += 1
    return analysis


def worst_examples(items: list[NerItem], count: int) -> list[dict]:
    """The examples with the most wrong entities (false positives plus false negatives)."""
    def errors(item):
        return len(item.predicted ^ item.gold) + len(item.ungrounded)

    ranked = sorted((item for item in items if errors(item)), key=lambda item: (-errors(item), item.id))[:count]
    return [{"id": item.id, "errors": errors(item), "text": item.text,
             "missed": [item.text[e.start:e.end] + f" [{e.label}]" for e in sorted(item.gold - item.predicted)],
             "spurious": [item.text[e.start:e.end] + f" [{e.label}]" for e in sorted(item.predicted - item.gold)]
             + [f"{mention} [{label}] (not in the text)" for label, mention in sorted(item.ungrounded)]}
            for item in ranked]

