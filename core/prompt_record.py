"""The system prompts a model was fine-tuned on, recorded in its folder, so that prediction asks it in the same words.

A fine-tuned recipe may train on the compact prompt (core.tasks.PROMPT_STYLES) while the converted test files carry
the full one, which the untouched model needs. Training writes `system_prompts.json` beside the weights
(training.prompt_record, an Axolotl plugin): the system turn of its training examples, per dataset. Prediction
replaces the system turn of every example of a recorded dataset with it (prediction.predict) and refuses one of a
dataset the model was never trained on with such a record.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from llmner.core.errors import DataError
from llmner.core.io import read_json

RECORD_NAME = "system_prompts.json"


def dataset_of(example_id) -> str:
    """The dataset an example belongs to: the first part of its contract id.

    >>> dataset_of("conll2003/test/17")
    'conll2003'
    """
    return str(example_id).split("/", 1)[0]


def system_turn(messages: list[dict]) -> str | None:
    return next((turn["content"] for turn in messages if turn["role"] == "system"), None)


def prompts_of(examples: Iterable[dict]) -> dict[str, str | None]:
    """Each dataset's system prompt in these examples; None where its examples do not share one (few-shot blocks,
    several prompt styles), so that nothing is recorded for it.

    >>> prompts_of([{"id": "a/train/0", "messages": [{"role": "system", "content": "NER"}]},
    ...             {"id": "a/train/1", "messages": [{"role": "system", "content": "NER"}]}])
    {'a': 'NER'}
    """
    found: dict[str, str | None] = {}
    for example in examples:
        dataset, prompt = dataset_of(example["id"]), system_turn(example["messages"])
        found[dataset] = prompt if found.get(dataset, prompt) == prompt else None
    return found


def read_record(model: str | Path) -> dict[str, str]:
    """The record of a model folder, or of the run a `checkpoint-N` folder belongs to; {} where there is none (an
    untouched model, a hub id, a run trained before records existed)."""
    for folder in (Path(model), Path(model).parent):
        if (folder / RECORD_NAME).is_file():
            return read_json(folder / RECORD_NAME)
        if not Path(model).name.startswith("checkpoint-"):
            break
    return {}


def as_trained(example_id, messages: list[dict], record: dict[str, str], model: str | Path) -> list[dict]:
    """An example's messages with the system turn the model was trained on for its dataset.

    >>> as_trained("a/test/3", [{"role": "system", "content": "long"}, {"role": "user", "content": "Paris"}],
    ...            {"a": "short"}, "m")[0]["content"]
    'short'
    """
    if not record:
        return messages
    dataset = dataset_of(example_id)
    if dataset not in record:
        raise DataError(Path(model) / RECORD_NAME, None, f"a prompt for {dataset!r} examples (the model was "
                                                          f"fine-tuned on {', '.join(sorted(record))} only)")
    turns = [turn for turn in messages if turn["role"] != "system"]
    return [{"role": "system", "content": record[dataset]}, *turns]
