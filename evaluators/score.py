"""Gold and predictions in, the contract's report out: parsing here, the arithmetic in ner/classification/mcq.

`build_report` is pure (no files written, no model library imported); the CLI draws and writes what it returns.
"""

from __future__ import annotations

from core.answer_format import parse_answer, parse_choice, parse_label
from core.spans import Entity, ground
from evaluators import classification, mcq, ner
from evaluators.data import Gold, Prediction
from evaluators.metrics import MISSING


def ner_item(example_id: str, gold: dict, prediction: Prediction | None, stats: dict) -> ner.NerItem:
    text, tokens = gold["text"], gold.get("tokens")
    predicted: list[Entity] = []
    unplaced = frozenset()
    if prediction is None:
        stats["missing_predictions"] += 1
    elif "entities" in prediction.record:
        predicted = [Entity.of(e) for e in prediction.record["entities"]]
    else:
        parsed = parse_answer(prediction.record["output"], gold.get("answer_format", "lines"))
        stats["unparseable_outputs"] += parsed.unparseable
        stats["malformed_lines"] += parsed.malformed
        grounding = ground(text, parsed.mentions, tokens)
        stats["ungrounded_mentions"] += grounding.ungrounded
        stats["out_of_order_mentions"] += grounding.out_of_order
        predicted = grounding.entities
        unplaced = frozenset((m.label, m.text) for m in grounding.unplaced)
    labels = set(gold.get("labels") or ())
    stats["unknown_label_predictions"] += sum(bool(labels) and e.label not in labels for e in set(predicted))
    gold_entities = frozenset(Entity.of(e) for e in gold["entities"])
    return ner.NerItem(example_id, text, gold_entities, frozenset(predicted), tokens, unplaced)


def score_ner(gold: Gold, predictions: dict[str, Prediction], worst: int = 10) -> dict:
    stats = dict.fromkeys(("missing_predictions", "unparseable_outputs", "ungrounded_mentions", "malformed_lines",
                           "out_of_order_mentions", "unknown_label_predictions"), 0)
    items = [ner_item(example_id, example, predictions.get(example_id), stats)
             for example_id, example in gold.examples.items()]
    entity = ner.entity_scores(items)
    analysis = ner.analyse_errors(items)
    report = {"task": "ner", "examples": len(items), **stats, "entity": entity, "token": ner.token_scores(items),
              "sentence_accuracy": ner.sentence_accuracy(items),
              "errors": analysis.as_dict(), "worst": ner.worst_examples(items, worst),
              "confusion": ner_confusion(analysis)}
    return report


def ner_confusion(analysis: ner.ErrorAnalysis) -> dict:
    """Gold label (or none) x predicted label (or none) over exact spans, in the layout classification uses."""
    labels = sorted({label for pair in analysis.confusion for label in pair} - {ner.NONE}) + [ner.NONE]
    return {"labels": labels, "matrix": [[analysis.confusion[g, p] for p in labels] for g in labels]}


def predicted_label(prediction: Prediction | None, labels: list[str]) -> tuple[str, float | None]:
    """A `label` is read exactly like an `output`, against the example's own label set."""
    if prediction is None:
        return MISSING, None
    record = prediction.record
    label = parse_label(record["label"] if "label" in record else record["output"], labels)
    return label or classification.INVALID, record.get("confidence")  # confidence: checked in [0, 1] on loading


def score_classification(gold: Gold, predictions: dict[str, Prediction]) -> dict:
    # Each example is read against its own label set (fudan_news offers each text its own candidates); per-label
    # figures cover every label of the file, in order of first appearance, so no example drops out of them.
    labels = list(dict.fromkeys(label for example in gold.examples.values() for label in example["labels"]))
    gold_labels, predicted, correct, confidences = [], [], [], []
    for example_id, example in gold.examples.items():
        label, confidence = predicted_label(predictions.get(example_id), example["labels"])
        gold_labels.append(example["label"])
        predicted.append(label)
        if confidence is not None:
            correct.append(label == example["label"])
            confidences.append(confidence)
    report = {"task": "classification", "examples": len(gold_labels),
              "missing_predictions": sum(example_id not in predictions for example_id in gold.examples),
              **classification.classification_scores(gold_labels, predicted, labels)}
    if confidences:
        calibrated = classification.calibration(correct, confidences)
        report |= {"ece": calibrated["ece"], "calibration": calibrated}
    return report


def predicted_letter(prediction: Prediction | None, rule: str = "strict") -> str | None:
    """The letter, None when unparseable, MISSING when there is no prediction; `answer` is read like `output`."""
    if prediction is None:
        return MISSING
    record = prediction.record
    return parse_choice(record["output"] if "output" in record else record["answer"], rule)


def predicted_letters(gold: Gold, predictions: dict[str, Prediction], rule: str = "strict") -> dict[str, str | None]:
    return {example_id: predicted_letter(predictions.get(example_id), rule) for example_id in gold.examples}


def score_mcq(gold: Gold, predictions: dict[str, Prediction], rule: str = "strict") -> dict:
    letters = predicted_letters(gold, predictions, rule)
    return {"task": "mcq", "examples": len(letters), "mcq_rule": rule,
            "missing_predictions": sum(example_id not in predictions for example_id in gold.examples),
            **mcq.mcq_scores([e["answer"] for e in gold.examples.values()], list(letters.values()))}


def submission_rows(gold: Gold, predictions: dict[str, Prediction],
                    rule: str = "strict") -> list[tuple[str, str | None]]:
    """(the source's own ID where it had one, the predicted letter) per example, for submission.csv."""
    letters = predicted_letters(gold, predictions, rule)
    return [(example.get("source_id") or example_id, letters[example_id])
            for example_id, example in gold.examples.items()]


def build_report(gold: Gold, predictions: dict[str, Prediction], worst: int = 10,
                 mcq_rule: str = "strict") -> dict:
    """The contract's report for any task (shared/CONTRACT.md section 3); pure: nothing is drawn or written."""
    if gold.task == "ner":
        return score_ner(gold, predictions, worst)
    if gold.task == "classification":
        return score_classification(gold, predictions)
    return score_mcq(gold, predictions, mcq_rule)
