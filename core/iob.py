"""Token tags (IOB2 or IOB1) to character spans over the space-joined tokens, validating as it goes."""

from __future__ import annotations

from core.spans import Entity


class TagError(ValueError):
    pass


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
    or starts nothing (stray="ignore": a tagger's output read as seqeval's strict mode reads it)."""
    entities, open_entity, position = [], None, 0
    for token, tag in zip(tokens, tags, strict=True):
        start, position = position, position + len(token) + 1
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
                open_entity[1] = start + len(token)
                continue
            if stray == "raise":
                raise TagError(f"tag {tag!r} continues no entity of type {label} (IOB2 expected)")
        if open_entity:
            entities.append(Entity(*open_entity))
        open_entity = [start, start + len(token), label] if prefix == "B" else None
    if open_entity:
        entities.append(Entity(*open_entity))
    return entities


def entities_to_tags(tokens: list[str], entities: list[Entity]) -> list[str]:
    """IOB2 tags for token-aligned spans of the space-joined tokens (what seqeval reads)."""
    starts, position = [], 0
    for token in tokens:
        starts.append(position)
        position += len(token) + 1
    tags = ["O"] * len(tokens)
    for entity in entities:
        inside = [i for i, start in enumerate(starts) if entity.start <= start and start + len(tokens[i]) <= entity.end]
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + entity.label
    return tags
