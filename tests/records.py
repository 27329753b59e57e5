"""Small contract records the tests build inputs from (one NER example, JSONL text)."""

from __future__ import annotations

import json

TEXT = "Peter Blackburn visited Brussels"
NER_EXAMPLE = {"id": "d/test/0", "messages": [{"role": "user", "content": TEXT}],
               "gold": {"task": "ner", "text": TEXT, "entities": [{"start": 0, "end": 15, "label": "PER"}]}}


def jl(*records) -> str:
    """JSONL text of the records, one per line."""
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
