"""Token tags (IOB2 or IOB1) to character spans over the space-joined tokens, validating as it goes."""

from __future__ import annotations

from llmner.core.spans import Entity, token_offsets


class TagError(ValueError):
    pass


def bio_labels(labels: list[str]) -> list[str]:
    """The tag set of a tagger over `labels`: O, then B- and I- of each label.

    >>> bio_labels(["PER", "LOC"])
    ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']
    """
    return ["O"] + [f"{prefix}-{label}" for label in labels for prefix in "BI"]


def iob1_to_iob2(tags: list[str]) -> list[str]:
    """IOB1 starts an entity with I- and uses B- only between two adjacent entities of one type."""
    converted, previous = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        converted.append(tag)
        previous = tag
    return converted


def tags_to_entities(tokens: list[str], tags: list[str], labels: tuple[str, ...] | None = None,
                     label_map: dict[str, str] | None = None, stray: str = "raise") -> list[Entity]:
    """Entities as character spans of ``" ".join(tokens)``; raises TagError on an unknown tag. An I- tag that does
    not continue an entity of its own type raises too (stray="raise": data must be valid IOB2, convert IOB1 first),
    or starts nothing (stray="ignore": a tagger's output read as seqeval's strict mode reads it).

    >>> tags_to_entities(["John", "lives", "in", "New", "York"], ["B-PER", "O", "O", "B-LOC", "I-LOC"])
    [Entity(start=0, end=4, label='PER'), Entity(start=14, end=22, label='LOC')]
    """
    entities, open_entity = [], None
    for (start, end), tag in zip(token_offsets(" ".join(tokens), tokens), tags, strict=True):
        if tag == "O":
            prefix, label = "O", None
        elif len(tag) > 2 and tag[1] == "-" and tag[0] in "BI":
            prefix, label = tag[0], (label_map or {}).get(tag[2:], tag[2:])
            if labels is not None and label not in labels:
                raise TagError(f"unknown tag {tag!r}; expected O or B-/I- with one of {', '.join(labels)}")
        else:
            raise TagError(f"unknown tag {tag!r}; expected O, B-TYPE or I-TYPE")
        if prefix == "I":
            if open_entity is not None and open_entity[2] == label:
                open_entity[1] = end
                continue
            if stray == "raise":
                raise TagError(f"tag {tag!r} continues no entity of type {label} (IOB2 expected)")
        if open_entity:
            entities.append(Entity(*open_entity))
        open_entity = [start, end, label] if prefix == "B" else None
    if open_entity:
        entities.append(Entity(*open_entity))
    return entities


def entities_from_tagger(tokens: list[str], tags: list[str]) -> list[Entity]:
    """Spans of a tagger's IOB2 output read strictly: an entity is B-X followed by I-X; a stray I- tag starts
    nothing (seqeval's mode="strict", where `I-ORG I-ORG` is no entity at all).

    >>> entities_from_tagger(["EU", "rejects", "German", "call"], ["I-ORG", "O", "B-MISC", "O"])
    [Entity(start=11, end=17, label='MISC')]
    """
    return tags_to_entities(tokens, tags, stray="ignore")


def entities_to_tags(tokens: list[str], entities: list[Entity]) -> list[str]:
    """IOB2 tags for token-aligned spans of the space-joined tokens (what seqeval reads).

    >>> entities_to_tags(["New", "York", "rocks"], [Entity(0, 8, "LOC")])
    ['B-LOC', 'I-LOC', 'O']
    """
    offsets = token_offsets(" ".join(tokens), tokens)
    tags = ["O"] * len(tokens)
    for entity in entities:
        inside = [i for i, (start, end) in enumerate(offsets) if entity.start <= start and end <= entity.end]
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + entity.label
    return tags
