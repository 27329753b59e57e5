"""Answers kept as each batch ends, so a cut prediction run resumes where it stopped instead of paying again.

`llmner predict` (answers) and `llmner predict-labels` (each example's label log-probabilities) append every finished
batch to OUTPUT.partial, after a first line holding the run's settings, and write OUTPUT whole at the end (then remove
the partial file). Run the same command again after a cut and only the examples without an answer are computed. A
partial file written under other settings (another model, other data, another answer budget) is refused, never mixed
in. Resumed examples are batched anew, so a rare near-tie can end differently from an uncut run, as it can under
another --batch-size.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from llmner.core.errors import DataError


def partial_path(output: str | Path) -> Path:
    """Where a run writing `output` keeps its finished batches.

    >>> partial_path("runs/predictions.jsonl").name
    'predictions.jsonl.partial'
    """
    return Path(f"{output}.partial")


class PartialAnswers:
    """OUTPUT.partial: the answers a run under `settings` has finished, by example id.

    >>> import tempfile; folder = tempfile.mkdtemp()
    >>> kept = PartialAnswers(f"{folder}/p.jsonl", {"max_new_tokens": 8})
    >>> kept.add(["a", "b"], ["PER: Ann", ""])
    >>> PartialAnswers(f"{folder}/p.jsonl", {"max_new_tokens": 8}).answers
    {'a': 'PER: Ann', 'b': ''}
    """

    def __init__(self, output: str | Path, settings: dict):
        self.path = partial_path(output)
        self.settings = settings
        self.answers: dict = {}
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        lines = self.path.read_text(encoding="utf-8").split("\n")
        try:
            kept = json.loads(lines[0]).get("settings")
        except (ValueError, AttributeError):
            kept = None
        if kept != self.settings:
            differing = sorted(key for key in {**(kept or {}), **self.settings}
                               if (kept or {}).get(key) != self.settings.get(key))
            raise DataError(self.path, 1, f"expected the partial answers of a run with this run's settings (it "
                                          f"differs in {', '.join(differing)}); rerun with its settings to resume, "
                                          f"or delete the file to start over")
        whole = lines[1:-1]  # every line but the last ends in a newline; the last is empty or was cut mid-write
        for number, line in enumerate(whole, start=2):
            try:
                record = json.loads(line)
                self.answers[record["id"]] = record["output"]
            except (ValueError, KeyError, TypeError):
                raise DataError(self.path, number, "expected an answer record {\"id\": ..., \"output\": ...}") from None
        if lines[-1]:  # the line being written when the run was cut: dropped here, its example generated again
            self.path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")

    def add(self, ids: list, outputs: list[str]) -> None:
        """One finished batch, on disk before the next batch starts."""
        first = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)  # the output's folder may not exist yet
        with open(self.path, "a", encoding="utf-8") as handle:
            if first:
                handle.write(json.dumps({"settings": self.settings}) + "\n")
            for example_id, output in zip(ids, outputs):
                handle.write(json.dumps({"id": example_id, "output": output}, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.answers.update(zip(ids, outputs))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
