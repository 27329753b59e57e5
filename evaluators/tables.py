"""The report as a readable table on the terminal."""

from __future__ import annotations


def _row(name: str, scores: dict, extra: str = "") -> str:
    return f"{name:<18}{scores['precision']:>10.4f}{scores['recall']:>10.4f}{scores['f1']:>10.4f}{extra}"


def _header(first: str = "") -> list[str]:
    return [f"{first:<18}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]


def ner_table(report: dict) -> str:
    entity = report["entity"]
    lines = _header("entity (strict)")
    for label, scores in entity["per_label"].items():
        lines.append(_row(label, scores, f"{scores['support']:>10}"))
    micro = entity["micro"]
    lines += ["", _row("micro", micro, f"{micro['tp'] + micro['fn']:>10}"), _row("macro", entity["macro"]),
              _row("token (micro)", report["token"]["micro"]),
              f"{'token accuracy':<18}{report['token']['accuracy']:>30.4f}",
              f"{'sentence accuracy':<18}{report['sentence_accuracy']:>30.4f}", "",
              f"examples {report['examples']}  tp {micro['tp']}  fp {micro['fp']}  fn {micro['fn']}  "
              f"missing {report['missing_predictions']}  unparseable {report['unparseable_outputs']}  "
              f"ungrounded {report['ungrounded_mentions']}  unknown labels {report['unknown_label_predictions']}"]
    errors = report["errors"]
    if any(errors.values()):
        lines.append("errors: " + "; ".join(f"{kind} {value}" for kind, value in errors.items() if value))
    return "\n".join(lines)


def classification_table(report: dict) -> str:
    lines = _header()
    for label, scores in report["per_label"].items():
        lines.append(_row(label, scores, f"{scores['support']:>10}"))
    lines += ["", _row("macro", report["macro"]), f"{'accuracy':<18}{report['accuracy']:>30.4f}"]
    if "ece" in report:
        lines.append(f"{'ECE (15 bins)':<18}{report['ece']:>30.4f}")
    lines.append(f"examples {report['examples']}  invalid {report['invalid']}  missing {report['missing_predictions']}")
    return "\n".join(lines)


def mcq_table(report: dict) -> str:
    return (f"accuracy {report['accuracy']:.4f} ({report['correct']}/{report['scored']})  "
            f"unparseable {report['unparseable']}  missing {report['missing_predictions']}  "
            f"examples {report['examples']}")


TABLES = {"ner": ner_table, "classification": classification_table, "mcq": mcq_table}
