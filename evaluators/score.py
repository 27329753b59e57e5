"""Gold and predictions in, the contract's report out: parsing here, the arithmetic in ner/classification/mcq.

`build_report` is pure (no files written, no model library imported); the CLI draws and writes what it returns.
Each task's scorer also reduces every example to a row of counts (`bootstrap.Stats`): the bootstrap intervals of the
report and `compare` between two systems are computed from those rows.
"""

from __future__ import annotations

import numpy

from llmner.core.answer_format import parse_answer, parse_choice, parse_label
from llmner.core.errors import DataError
from llmner.core.ids import parse_id
from llmner.core.schemas import REPORTS, NerGold, Report, as_report
from llmner.core.spans import Entity, ground
from llmner.evaluators import bootstrap, classification, mcq, ner
from llmner.evaluators.data import Gold, Prediction
from llmner.evaluators.metrics import MISSING

PRIMARY = {task: report.HEADLINE[0] for task, report in REPORTS.items()}  # the headline, compared unadjusted
SMALL = 100  # resampled units below which the report warns that its intervals are rough


def ner_item(example_id: str, gold: NerGold, prediction: Prediction | None, stats: dict) -> ner.NerItem:
    text, tokens = gold.text, gold.tokens
    predicted: list[Entity] = []
    unplaced = frozenset()
    if prediction is None:
        stats["missing_predictions"] += 1
    elif prediction.entities is not None:
        predicted = [e.entity for e in prediction.entities]
    else:
        parsed = parse_answer(prediction.output, gold.answer_format, text, tokens)
        stats["unparseable_outputs"] += parsed.unparseable
        stats["malformed_lines"] += parsed.malformed
        grounding = ground(text, parsed.mentions, tokens)
        stats["ungrounded_mentions"] += grounding.ungrounded
        stats["out_of_order_mentions"] += grounding.out_of_order
        predicted = grounding.entities
        unplaced = frozenset((m.label, m.text) for m in grounding.unplaced)
    labels = set(gold.labels or ())
    stats["unknown_label_predictions"] += sum(bool(labels) and e.label not in labels for e in set(predicted))
    gold_entities = frozenset(e.entity for e in gold.entities)
    return ner.NerItem(example_id, text, gold_entities, frozenset(predicted), tokens, unplaced)


def score_ner(gold: Gold, predictions: dict[str, Prediction], worst: int = 10) -> tuple[dict, bootstrap.Stats]:
    stats = dict.fromkeys(("missing_predictions", "unparseable_outputs", "ungrounded_mentions", "malformed_lines",
                           "out_of_order_mentions", "unknown_label_predictions"), 0)
    items = [ner_item(example_id, example, predictions.get(example_id), stats)
             for example_id, example in gold.examples.items()]
    entity = ner.entity_scores(items)
    analysis = ner.analyse_errors(items)
    token_counts = [ner.token_counts(item) for item in items]
    report = {"task": "ner", "examples": len(items), **stats, "entity": entity,
              "token": ner.token_scores(items, token_counts), "sentence_accuracy": ner.sentence_accuracy(items),
              "errors": analysis.as_dict(), "worst": ner.worst_examples(items, worst),
              "confusion": ner_confusion(analysis)}
    rows = bootstrap.ner_stats(numpy.array([ner.entity_row(item) for item in items]).reshape(-1, 3),
                               numpy.array(token_counts).reshape(-1, 5)[:, :3],
                               numpy.array([item.gold == item.predicted for item in items], dtype=bool))
    return report, rows


def ner_confusion(analysis: ner.ErrorAnalysis) -> dict:
    """Gold label (or none) x predicted label (or none) over exact spans, in the layout classification uses."""
    labels = sorted({label for pair in analysis.confusion for label in pair} - {ner.NONE}) + [ner.NONE]
    return {"labels": labels, "matrix": [[analysis.confusion[g, p] for p in labels] for g in labels]}


def predicted_label(prediction: Prediction | None, labels: list[str]) -> tuple[str, float | None]:
    """A `label` is read exactly like an `output`, against the example's own label set."""
    if prediction is None:
        return MISSING, None
    label = parse_label(prediction.label if prediction.label is not None else prediction.output, labels)
    return label or classification.INVALID, prediction.confidence  # confidence: checked in [0, 1] on loading


def score_classification(gold: Gold, predictions: dict[str, Prediction]) -> tuple[dict, bootstrap.Stats]:
    # Each example is read against its own label set (fudan_news offers each text its own candidates); per-label
    # figures cover every label of the file, in order of first appearance, so no example drops out of them.
    labels = list(dict.fromkeys(label for example in gold.examples.values() for label in example.labels))
    gold_labels, predicted, correct, confidences, all_confidences = [], [], [], [], []
    for example_id, example in gold.examples.items():
        label, confidence = predicted_label(predictions.get(example_id), example.labels)
        gold_labels.append(example.label)
        predicted.append(label)
        all_confidences.append(float("nan") if confidence is None else confidence)
        if confidence is not None:
            correct.append(label == example.label)
            confidences.append(confidence)
    report = {"task": "classification", "examples": len(gold_labels),
              "missing_predictions": sum(example_id not in predictions for example_id in gold.examples),
              **classification.classification_scores(gold_labels, predicted, labels)}
    if confidences:
        calibrated = classification.calibration(correct, confidences)
        report |= {"ece": calibrated["ece"], "calibration": calibrated}
    index = {label: i for i, label in enumerate(labels)}
    rows = bootstrap.classification_stats(numpy.array([index[label] for label in gold_labels], dtype=int),
                                          numpy.array([index.get(label, -1) for label in predicted], dtype=int),
                                          len(labels), numpy.array(all_confidences, dtype=float),
                                          classification.BINS)
    return report, rows


def predicted_letter(prediction: Prediction | None, rule: str = "strict") -> str | None:
    """The letter, None when unparseable, MISSING when there is no prediction; `answer` is read like `output`."""
    if prediction is None:
        return MISSING
    return parse_choice(prediction.output if prediction.output is not None else prediction.answer, rule)


def predicted_letters(gold: Gold, predictions: dict[str, Prediction], rule: str = "strict") -> dict[str, str | None]:
    return {example_id: predicted_letter(predictions.get(example_id), rule) for example_id in gold.examples}


def score_mcq(gold: Gold, predictions: dict[str, Prediction], rule: str = "strict") -> tuple[dict, bootstrap.Stats]:
    letters = predicted_letters(gold, predictions, rule)
    answers = [e.answer for e in gold.examples.values()]
    report = {"task": "mcq", "examples": len(letters), "mcq_rule": rule,
              "missing_predictions": sum(example_id not in predictions for example_id in gold.examples),
              **mcq.mcq_scores(answers, list(letters.values()))}
    rows = bootstrap.mcq_stats(numpy.array([a is not None and a == p for a, p in zip(answers, letters.values())]),
                               numpy.array([a is not None for a in answers]))
    return report, rows


def submission_rows(gold: Gold, predictions: dict[str, Prediction],
                    rule: str = "strict") -> list[tuple[str, str | None]]:
    """(the source's own ID where it had one, the predicted letter) per example, for submission.csv; an ID shared by
    two questions is refused (a grader could not tell their answers apart)."""
    from collections import Counter

    letters = predicted_letters(gold, predictions, rule)
    rows = [(example.source_id or example_id, letters[example_id]) for example_id, example in gold.examples.items()]
    shared = [(row_id, count) for row_id, count in Counter(row_id for row_id, _ in rows).items() if count > 1]
    if shared:
        raise DataError(gold.path, None, f"expected one source ID a question for submission.csv; {shared[0][0]!r} "
                                         f"names {shared[0][1]} questions ({len(shared)} IDs shared)")
    return rows


def scored(gold: Gold, predictions: dict[str, Prediction], worst: int = 10,
           mcq_rule: str = "strict") -> tuple[dict, bootstrap.Stats]:
    """The report without intervals, and the per-example counts its headline figures are sums of."""
    if gold.task == "ner":
        return score_ner(gold, predictions, worst)
    if gold.task == "classification":
        return score_classification(gold, predictions)
    return score_mcq(gold, predictions, mcq_rule)


def origin(gold: Gold) -> dict[str, str]:
    """{"dataset", "split"} where the first id is a converter's `<dataset>/<split>/<index>` (core.ids); {} for an id
    of another form (the contract allows integer ids too)."""
    parsed = parse_id(next(iter(gold.examples)), gold.path)
    return {"dataset": parsed.dataset, "split": parsed.split} if parsed.dataset else {}


def clusters(gold: Gold, cluster: str | None = None) -> tuple[str, numpy.ndarray | None]:
    """What the bootstrap resamples: "doc" (whole documents, `gold.document`, as the CoNLL converter keeps them from
    `-DOCSTART-`) or "example"; by default documents wherever the examples have them. An example without a document
    is a document of its own. Returns the choice and each example's cluster code (None: each example alone)."""
    documents = [getattr(example, "document", None) for example in gold.examples.values()]
    has_documents = any(document is not None for document in documents)
    cluster = cluster or ("doc" if has_documents else "example")
    if cluster == "example":
        return cluster, None
    if not has_documents:
        raise DataError(gold.path, None, "expected examples with a gold.document (CoNLL files with -DOCSTART- "
                                         "lines, converted by `llmner data`) for --cluster doc")
    keys = [("document", str(document)) if document is not None else ("example", str(example_id))
            for example_id, document in zip(gold.examples, documents)]
    return cluster, bootstrap.cluster_codes(keys)


# Sources whose documents are known (-DOCSTART-): their examples without gold.document have lost them on the way.
DOCUMENTED = ("conll2003",)


def document_warnings(gold: Gold, asked: str | None, codes: numpy.ndarray | None) -> list[str]:
    """Said loudly where the bootstrap falls back to single sentences of a corpus that has documents (the Hub's
    Parquet copy of CoNLL-2003 drops `-DOCSTART-`): sentence intervals are too narrow, and paired tests too eager,
    when errors cluster by document. Not where `--cluster example` was asked for."""
    if asked or codes is not None or origin(gold).get("dataset") not in DOCUMENTED:
        return []
    return [f"{gold.path}: no gold.document in these {origin(gold)['dataset']} examples (converted from a copy that "
            "lost -DOCSTART-, such as a Hub Parquet export that is not the pinned one): resampling single sentences "
            "instead of whole documents, whose intervals are too narrow (and p-values too small) where errors cluster "
            "by document; convert the column files, or the pinned Parquet, to keep the documents"]


def interval_warnings(report: dict, units: int, unit: str) -> list[str]:
    """What a reader should know before trusting the intervals: too few units, or an interval of width 0."""
    from llmner.evaluators.tables import figures_with_intervals

    found = []
    if units < SMALL:
        found.append(f"only {units} {unit}: bootstrap intervals from so few are rough (they tend to be too narrow)")
    for name, value, (low, high) in figures_with_intervals(report):
        if low == high:
            found.append(f"{name} is {value:.4f} in every resample: an interval of width 0 means no errors (or no "
                         f"successes) in these {units} {unit}, not none on new text (rule of three: the rate of what "
                         f"was never seen is below {min(1.0, 3 / units):.3g} with 95% confidence)")
    return found


def add_intervals(report: dict, found: dict[str, list[float]]) -> None:
    """Each interval beside its figure: "entity.micro.f1" -> report["entity"]["micro"]["f1_ci"]."""
    for name, interval in found.items():
        *path, key = name.split(".")
        section = report
        for part in path:
            section = section[part]
        section[f"{key}_ci"] = interval


def build_report(gold: Gold, predictions: dict[str, Prediction], worst: int = 10, *, resamples: int = 1000,
                 seed: int = 42, system: str | None = None, mcq_rule: str = "strict", cluster: str | None = None,
                 pred: str | None = None) -> Report:
    """The contract's report for any task (shared/CONTRACT.md section 3); pure: nothing is drawn or written.

    With `resamples` > 0 each headline figure gets a 95% bootstrap interval (`<figure>_ci`) over examples, or over
    whole documents where the examples have them (`clusters`), BCa below 1,000 units; the report says how it was drawn
    (`bootstrap`) and warns where the intervals deserve caution (`warnings`). `system` (a name for the leaderboard),
    the gold file (`data`), the predictions file (`predictions`) and, where the ids tell, `dataset` and `split` are
    recorded too.

    >>> from llmner.core.schemas import McqGold, McqPrediction
    >>> gold = Gold("mcq", {f"quiz/test/{i}": McqGold(task="mcq", answer="A") for i in range(4)}, "quiz.jsonl")
    >>> guesses = {f"quiz/test/{i}": McqPrediction(id=f"quiz/test/{i}", output="AB"[i % 2]) for i in range(4)}
    >>> report = build_report(gold, guesses, resamples=200, system="coin")
    >>> report.accuracy, report.bootstrap, report.system, report.dataset, report.split
    (0.5, {'resamples': 200, 'seed': 42, 'cluster': 'example', 'units': 4, 'method': 'bca'}, 'coin', 'quiz', 'test')
    >>> report.headline.figure, report.headline.value, 0.0 <= report.headline.interval[0] <= 0.5
    ('accuracy', 0.5, True)
    >>> report.warnings
    ['only 4 examples: bootstrap intervals from so few are rough (they tend to be too narrow)']
    """
    report, stats = scored(gold, predictions, worst, mcq_rule)
    if resamples > 0:
        asked, (cluster, codes) = cluster, clusters(gold, cluster)
        units = len(stats.rows) if codes is None else int(codes.max()) + 1
        method = bootstrap.interval_method(units)
        add_intervals(report, bootstrap.intervals(stats, resamples, seed, clusters=codes, method=method))
        report["bootstrap"] = {"resamples": resamples, "seed": seed, "cluster": cluster, "units": units,
                               "method": method}
        report["warnings"] = (document_warnings(gold, asked, codes)
                              + interval_warnings(report, units, "documents" if codes is not None else "examples"))
    report |= {"data": gold.path, **origin(gold)} | ({"predictions": pred} if pred else {})
    return as_report(report | ({"system": system} if system else {}))
