"""What `make data` converts: every dataset folder present in the data directory, into `data/<name>/<split>.jsonl`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from converters import classification, conll, gmb, mcq, zh_ner
from core.examples import seeded_split
from core.tasks import CLASSIFICATION_LABELS, ner_prompt

FEW_SHOT = 5  # shots for the few-shot classification variant, drawn from the training pool


def select(make_examples, keep) -> list[dict]:
    """The examples whose position in the source passes `keep` (ids keep the source position)."""
    return [example for index, example in enumerate(make_examples()) if keep(index)]


def conversion_plan(data_dir: Path) -> list[tuple[str, callable]]:
    steps = []
    if (data_dir / "conll2003").is_dir():
        prompt = ner_prompt("conll2003")
        for split, name in (("train", "train"), ("validation", "valid"), ("test", "test")):
            steps.append((f"conll2003/{split}.jsonl",
                          partial(conll.convert_file, data_dir / "conll2003" / f"{name}.txt", prompt, split)))
    if (data_dir / "wnut17").is_dir():
        prompt = ner_prompt("wnut17")
        for split, name in (("train", "wnut17train.conll"), ("validation", "emerging.dev.conll"),
                            ("test", "emerging.test.annotated")):
            steps.append((f"wnut17/{split}.jsonl", partial(conll.convert_file, data_dir / "wnut17" / name, prompt, split)))
    for name, module, source in (("gmb", gmb, "ner_dataset.csv"), ("zh_ner", zh_ner, "ccfbdci.jsonl")):
        if (data_dir / name / source).exists():
            for split in ("train", "validation", "test"):
                steps.append((f"{name}/{split}.jsonl",
                              partial(module.convert_file, data_dir / name / source, ner_prompt(name), split)))
    if (data_dir / "ag_news" / "test.csv").exists():
        steps.append(("ag_news/test.jsonl", partial(classification.convert_file, data_dir / "ag_news" / "test.csv",
                                                    "ag_news", CLASSIFICATION_LABELS["ag_news"], "test")))
    if (data_dir / "zh_news").is_dir():
        # THUCNews ships dev and test here (no train): dev is the training set, test the evaluation set.
        labels = classification.read_class_names(data_dir / "zh_news" / "class.txt")
        dev, test = data_dir / "zh_news" / "dev.txt", data_dir / "zh_news" / "test.txt"
        # 500 dev headlines (seed 42) are held out for validation and temperature fitting; 9,500 train.
        held_out = set(seeded_split(list(range(10_000)), seed=42, fractions=(0.05, 0.0))["validation"])
        for split, keep in (("train", lambda i: i not in held_out), ("validation", lambda i: i in held_out)):
            steps.append((f"zh_news/{split}.jsonl", partial(select, partial(classification.convert_file, dev, "zh_news",
                                                                            labels, split), keep)))
        steps.append(("zh_news/test.jsonl", partial(classification.convert_file, test, "zh_news", labels, "test")))
        pool = [(text, label) for _, text, label in classification.read_thucnews(dev, labels)]
        steps.append((f"zh_news/test_{FEW_SHOT}shot.jsonl",
                      lambda: classification.convert_file(test, "zh_news", labels, "test",
                                                          classification.draw_shots(pool, FEW_SHOT, 42))))
    if (data_dir / "cmmlu").is_dir():
        # CMMLU's dev set (5 per subject) is the few-shot pool, used here as the (small) training set.
        steps.append(("cmmlu/train.jsonl", partial(mcq.convert_path, data_dir / "cmmlu" / "dev", "cmmlu", "train")))
        steps.append(("cmmlu/test.jsonl", partial(mcq.convert_path, data_dir / "cmmlu" / "test", "cmmlu", "test")))
    return steps
