"""A recipe run on other data, for a set number of steps: the same model, template, masking and settings, with only
the training file, the output folder and the step count changed (what `make demo`, the learning curve and the smoke
test train). The CPU twin (`llmner twin`) is the other derivation: it swaps the model as well.

    llmner derive recipes/smollm2_135m_lora_conll.yml --data runs/demo/train_pool.jsonl \
        --out-dir runs/demo --examples 256 --entity-share 0.75 --max-steps 32
    llmner train runs/demo/recipe.yml

NER training sets are mostly sentences without entities (WNUT-17: 64%); a small model trained on few steps learns
to answer `none` to everything. `--entity-share` draws the subset so that this share of it has entities (sentences
with entities repeated if there are too few), so the few steps are spent on the answers that matter.
"""

from __future__ import annotations

import random
from pathlib import Path

import click
import yaml

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.io import check_writable, write_jsonl
from llmner.core.prompt_record import dataset_of
from llmner.core.recipes import load_recipe
from llmner.core.schemas import Example, Message, NerGold, read_examples
from llmner.core.tasks import PROMPT_STYLES, NerPrompt
from llmner.training.settings import first_dataset

EVALUATION_KEYS = ("test_datasets", "val_set_size", "evals_per_epoch", "eval_steps", "eval_sample_packing")
SAVING_KEYS = ("saves_per_epoch", "save_steps", "save_total_limit")


def has_entities(example: Example) -> bool:
    return bool(getattr(example.gold, "entities", None))


def balanced_subset(examples: list[Example], size: int, entity_share: float | None, seed: int = 42) -> list[Example]:
    """`size` examples, `entity_share` of them with entities (repeated when there are too few), shuffled by `seed`;
    the first `size` in file order when `entity_share` is None.

    >>> def example(i, entities):
    ...     return Example.model_validate({"id": i, "messages": [], "gold": {"task": "ner", "text": "EU",
    ...                                    "entities": [{"start": 0, "end": 2, "label": "ORG"}] if entities else []}})
    >>> pool = [example(0, True)] + [example(i, False) for i in range(1, 4)]
    >>> sum(has_entities(e) for e in balanced_subset(pool, 4, 0.5))
    2
    """
    if entity_share is None:
        return examples[:size]
    rng = random.Random(seed)
    with_entities = [e for e in examples if has_entities(e)]
    without = [e for e in examples if not has_entities(e)]
    wanted = round(size * entity_share) if without else size
    if wanted and not with_entities:
        raise DataError("--entity-share", None, "examples with entities in --data; it has none")
    rng.shuffle(with_entities)
    rng.shuffle(without)
    chosen = [with_entities[i % len(with_entities)] for i in range(wanted)] + without[:size - wanted]
    rng.shuffle(chosen)
    return chosen


def with_prompt(example: Example, style: str, data: str | Path) -> Example:
    """The NER example with the system prompt of `style` for its labels and answer format (core.tasks).

    >>> example = Example.model_validate({"id": "conll2003/train/0", "messages": [
    ...     {"role": "system", "content": "You are ..."}, {"role": "user", "content": "EU"}],
    ...     "gold": {"task": "ner", "text": "EU", "entities": [], "labels": ["ORG", "PER"]}})
    >>> with_prompt(example, "compact", "x.jsonl").messages[0].content
    'NER, lines: ORG, PER'
    """
    gold = example.gold
    if not isinstance(gold, NerGold) or not gold.labels:
        raise DataError(data, None, f"NER examples with gold.labels for --prompt (example {example.id!r} has "
                                    f"task {gold.task!r}{'' if getattr(gold, 'labels', None) else ' and no labels'})")
    prompt = NerPrompt(dataset_of(example.id), tuple(gold.labels), gold.answer_format)
    turns = [turn for turn in example.messages if turn.role != "system"]
    return example.model_copy(update={"messages": [Message(role="system", content=prompt.system(style)), *turns]})


def derived_config(recipe: dict, data_file: Path, out_dir: Path, max_steps: int | None,
                   learning_rate: float | None = None, evaluate: bool = False, recipe_path: str | Path = "(recipe)",
                   train_seed: int | None = None, save_steps: int | None = None) -> dict:
    """The recipe with its training file, folders and length replaced; no evaluation or checkpoints unless asked.
    `save_steps` keeps the last checkpoint every that many steps, so a cut run resumes from it (the recipe's
    auto_resume_from_checkpoints); `train_seed` replaces the recipe's training seed.

    >>> config = derived_config({"datasets": [{"path": "a.jsonl"}], "seed": 42, "saves_per_epoch": 2}, Path("t.jsonl"),
    ...                         Path("run"), None, train_seed=7, save_steps=100)
    >>> config["seed"], config["save_strategy"], config["save_steps"], config["save_total_limit"]
    (7, 'steps', 100, 1)
    """
    keep = {key: value for key, value in recipe.items()
            if evaluate or key not in EVALUATION_KEYS + SAVING_KEYS}
    derived = keep | {"datasets": [dict(first_dataset(recipe, recipe_path), path=str(data_file))],
                      "output_dir": str(out_dir / "output"), "dataset_prepared_path": str(out_dir / "prepared")}
    if max_steps is not None:
        derived["max_steps"] = max_steps
    if save_steps is not None:
        derived |= {"save_strategy": "steps", "save_steps": save_steps, "save_total_limit": 1}
    elif not evaluate:
        derived["save_strategy"] = "no"
    if train_seed is not None:
        derived["seed"] = train_seed
    derived["logging_steps"] = 1  # a short run: every step on its loss curve
    if learning_rate is not None:
        derived["learning_rate"] = learning_rate
    return derived


def derive(recipe_path: str | Path, data: str | Path, out_dir: str | Path, examples: int | None = None,
           entity_share: float | None = None, max_steps: int | None = None, learning_rate: float | None = None,
           seed: int = 42, prompt: str | None = None, train_seed: int | None = None,
           save_steps: int | None = None) -> Path:
    recipe = load_recipe(recipe_path)
    out_dir = Path(out_dir).resolve()
    check_writable(out_dir / "recipe.yml")
    pool = read_examples(data)
    subset = balanced_subset(pool, examples or len(pool), entity_share, seed)
    if prompt:
        subset = [with_prompt(example, prompt, data) for example in subset]
    config = derived_config(recipe, out_dir / "train.jsonl", out_dir, max_steps, learning_rate, recipe_path=recipe_path,
                            train_seed=train_seed, save_steps=save_steps)
    write_jsonl(out_dir / "train.jsonl", (example.to_json() for example in subset))
    path = out_dir / "recipe.yml"
    path.write_text(f"# {recipe_path} on {data} (llmner derive)\n"
                    + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@click.command("derive")
@options.recipe()
@options.data("Examples JSONL to draw the training set from.")
@options.out_dir("Folder for train.jsonl, recipe.yml and the run's output.")
@options.examples(help="Training examples [default: all].")
@click.option("--entity-share", type=click.FloatRange(0, 1), default=None,
              help="NER: share of the training examples that have entities [default: as drawn, in file order].")
@options.max_steps(help="Optimizer steps [default: the recipe's].")
@options.learning_rate(help="Learning rate [default: the recipe's].")
@options.seed(help="Seed of the drawn subset.")
@click.option("--prompt", type=click.Choice(PROMPT_STYLES), default=None,
              help="NER: train on this system prompt (compact: the labels and format only, a third of the tokens; "
                   "prediction finds it in the model folder) [default: the examples' own].")
@click.option("--train-seed", type=int, default=None,
              help="The training run's seed (initialisation, data order) [default: the recipe's].")
@click.option("--save-steps", type=click.IntRange(min=1), default=None,
              help="Keep the last checkpoint every this many steps, so a cut run resumes from it [default: none].")
def main(recipe, data, out_dir, examples, entity_share, max_steps, learning_rate, seed, prompt, train_seed,
         save_steps):
    """Write OUT_DIR/recipe.yml: RECIPE trained on (a subset of) DATA."""
    click.echo(derive(recipe, data, out_dir, examples, entity_share, max_steps, learning_rate, seed, prompt,
                      train_seed, save_steps))

