"""One self-contained HTML page per score (`llmner score --html FILE`) and per comparison (`llmner compare --html`).

Everything is inline (styles, the script, the reliability diagram as a data: URI): the page opens offline and can be
mailed. Entities are drawn by spaCy's displaCy (`manual=True`: plain spans in, no pipeline). Any text is safe: Jinja
autoescapes, displaCy escapes the text (its labels are escaped here, which it does not do), the cards travel as JSON
through `tojson` (no `</script>` can survive it), and each text is bidi-isolated, so a `<script>` in a tweet or a
right-to-left override in an answer shows as text. The page holds the cards as JSON and puts one page of PAGE_SIZE
in the document at a time, so the whole CoNLL-2003 test set opens and filters without a stall.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from markupsafe import Markup, escape

from llmner.core.io import atomic_output, read_jsonl
from llmner.core.schemas import REPORTS, Comparison, NerGold, Report, Scores
from llmner.core.spans import Entity
from llmner.evaluators import ner, score
from llmner.evaluators.data import Gold, Prediction
from llmner.evaluators.metrics import MISSING

PAGE_SIZE = 50
# Light backgrounds, dark text readable on each; a label keeps its colour on every side of a page.
PALETTE = ("#7aecec", "#bfeeb7", "#feca74", "#ff9561", "#aa9cfc", "#c887fb", "#9cc9cc", "#ffeb80", "#ff8197",
           "#f0d0ff", "#bfe1d9", "#e4e7d2")
# The figures a page shows, the report's headline first (core.schemas.Report.HEADLINE).
FIGURES = {task: (REPORTS[task].HEADLINE[0], *others) for task, others in
           {"ner": ("entity.micro.precision", "entity.micro.recall", "entity.macro.f1", "token.micro.f1",
                    "token.accuracy", "sentence_accuracy"),
            "classification": ("macro.f1", "ece"), "mcq": ()}.items()}


def _templates():
    import jinja2

    loader = jinja2.FileSystemLoader(Path(__file__).parent / "templates")
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def label_colors(labels: Iterable[str]) -> dict[str, str]:
    """A colour per label, keyed as displaCy looks it up (the escaped label).

    >>> label_colors(["PER", "<b>"])
    {'PER': '#7aecec', '&lt;b&gt;': '#bfeeb7'}
    """
    return {str(escape(label)): PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def entities_html(text: str, entities: Iterable[Entity], colors: dict[str, str]) -> Markup:
    """The text with its entities highlighted by displaCy; safe to put in a page whatever the text and labels hold.

    >>> entities_html("<i>Mary</i>", [Entity(3, 7, "<PER>")], {})  # doctest: +ELLIPSIS
    Markup('<div class="entities" ...>&lt;i&gt;<mark ...>Mary<span ...>&lt;PER&gt;</span></mark>&lt;/i&gt;</div>')
    """
    from spacy import displacy  # spaCy takes a second to import (it needs no torch): only --html pays it

    spans = [{"start": e.start, "end": e.end, "label": str(escape(e.label))} for e in sorted(entities)]
    return Markup(displacy.render({"text": text, "ents": spans, "title": None}, style="ent", manual=True,
                                  jupyter=False, minify=True, options={"colors": colors}))


def _quoted(text: str, entity: Entity | None) -> str:
    return f"“{text[entity.start:entity.end]}”" if entity else ""


def describe(error: ner.EntityError, text: str) -> str:
    """One line a reader understands without the counting rules.

    >>> describe(ner.EntityError("wrong boundary", "PER", Entity(0, 4, "PER"), Entity(0, 10, "PER")), "Mary Smith")
    'PER “Mary” for gold “Mary Smith”'
    """
    said = _quoted(text, error.entity)
    if error.kind == "wrong label":
        return f"{said} {error.gold.label} → {error.label}"
    if error.kind == "wrong boundary":
        return f"{error.label} {said} for gold {_quoted(text, error.gold)}"
    if error.kind == "both":
        return f"{error.label} {said} for gold {error.gold.label} {_quoted(text, error.gold)}"
    if error.entity is None:
        return f"{error.label} “{error.mention}” (not in the text: ungrounded)"
    return f"{error.label} {said}"


def ner_view(example_id, gold: NerGold, prediction: Prediction | None, colors: dict[str, str]) -> dict:
    """One system's answer to one example: its entities drawn, its errors, its raw output and what was wrong with it."""
    counts = Counter()
    item = score.ner_item(example_id, gold, prediction, counts)
    errors = ner.entity_errors(item)
    return {"item": item, "found": errors, "html": entities_html(item.text, item.predicted, colors),
            "errors": [{"kind": e.kind, "text": describe(e, item.text)} for e in errors],
            "raw": prediction.output if prediction else None, "missing": prediction is None,
            "unparseable": counts["unparseable_outputs"], "malformed": counts["malformed_lines"]}


def _labels_of(errors: list[ner.EntityError]) -> list[str]:
    return sorted({e.label for e in errors} | {e.gold.label for e in errors if e.gold})


def _figure(report: Report, name: str, primary: bool = False) -> dict | None:
    value, interval = report.figure(name)
    if value is None:
        return None
    return {"name": name, "value": f"{value:.4f}", "primary": primary,
            "ci": f"95% CI [{interval[0]:.4f}, {interval[1]:.4f}]" if interval else ""}


def _provenance(report: Report, keys: Iterable[str]) -> list[tuple[str, str]]:
    return [(key, str(report.recorded(key))) for key in keys if report.recorded(key) not in (None, "")]


def _per_label_table(per_label: dict[str, Scores]) -> dict:
    return {"id": "per-label", "title": "Per label", "header": ["label", "precision", "recall", "F1", "support"],
            "rows": [[label, f"{s.precision:.4f}", f"{s.recall:.4f}", f"{s.f1:.4f}", s.to_json()["support"]]
                     for label, s in per_label.items()], "heat": 0}


def _confusion_table(rows: list[str], columns: list[str], matrix: list[list[int]], caption: str) -> dict:
    return {"id": "confusion", "title": "Confusion (rows: gold, columns: predicted)", "header": ["", *columns],
            "rows": [[row, *values] for row, values in zip(rows, matrix)], "caption": caption,
            "heat": max((max(values) for values in matrix if values), default=0) or 1}


def _page(title: str, report: Report, **parts) -> dict:
    figures = [f for i, name in enumerate(FIGURES[report.task]) if (f := _figure(report, name, i == 0))]
    drawn = report.recorded("bootstrap")
    note = (f"Intervals: bootstrap over {'whole documents' if drawn['cluster'] == 'doc' else 'examples'}, "
            f"{drawn['resamples']} resamples, seed {drawn['seed']}." if drawn else "")
    return {"title": title, "figures": figures, "note": note, "warnings": report.recorded("warnings") or [],
            "tables": [], "images": [], "provenance": _provenance(report, ("system", "data", "predictions")),
            "cases": [], "labels": [], "kinds": [], "label_title": "label", "page_size": PAGE_SIZE} | parts


def ner_score_page(report: Report, gold: Gold, predictions: dict[str, Prediction]) -> dict:
    labels = sorted({e.label for g in gold.examples.values() for e in g.entities}
                    | {label for g in gold.examples.values() for label in g.labels or ()})
    colors = label_colors(labels)
    cases, kinds_by_label = [], Counter()
    template = _templates().get_template("cards.html.j2").module
    for example_id, example in gold.examples.items():
        view = ner_view(example_id, example, predictions.get(example_id), colors)
        kinds_by_label.update((e.label, e.kind) for e in view["found"])
        if not view["found"] and not view["unparseable"] and not view["malformed"]:
            continue
        kinds = sorted({e.kind for e in view["found"]}, key=ner.KINDS.index) or ["unparseable"]
        gold_html = entities_html(example.text, view["item"].gold, colors)
        cases.append({"html": str(template.ner_card(example_id, kinds, gold_html, view)),
                      "labels": _labels_of(view["found"]), "kinds": kinds})
    error_labels = sorted({label for label, _ in kinds_by_label})
    error_table = {"id": "errors", "title": "Errors by kind", "header": ["label", *ner.KINDS, "all"], "heat": 0,
                   "caption": "label: the predicted one (the gold one where missed); ungrounded mentions are "
                              "spurious",
                   "rows": [[label, *(kinds_by_label[label, kind] for kind in ner.KINDS),
                             sum(kinds_by_label[label, kind] for kind in ner.KINDS)] for label in error_labels]
                   + [["all", *(sum(kinds_by_label[label, kind] for label in error_labels) for kind in ner.KINDS),
                       sum(kinds_by_label.values())]]}
    counters = {"id": "counts", "title": "Counts", "header": ["", "n"], "heat": 0,
                "rows": [[key.replace("_", " "), getattr(report, key)] for key in
                         ("examples", "missing_predictions", "unparseable_outputs", "malformed_lines",
                          "ungrounded_mentions", "out_of_order_mentions", "unknown_label_predictions")]}
    confusion = report.recorded("confusion")
    tables = [_per_label_table(report.entity.per_label), error_table, counters,
              _confusion_table(confusion["labels"], confusion["labels"], confusion["matrix"],
                               f"exact spans; {ner.NONE}: the other side has no entity there")]
    kinds = [kind for kind in (*ner.KINDS, "unparseable") if any(kind in c["kinds"] for c in cases)]
    return _page(f"NER errors: {report.recorded('system') or ''}".rstrip(": "), report, tables=tables, cases=cases,
                 labels=sorted({label for c in cases for label in c["labels"]}), kinds=kinds,
                 cases_title="Examples with an error")


def prompts(gold: Gold) -> dict:
    """Each example's last user turn: the text a classification or a question was asked about."""
    found = {}
    for _, record in read_jsonl(gold.path):
        users = [m.get("content", "") for m in record.get("messages", []) if m.get("role") == "user"]
        found[record.get("id")] = users[-1] if users else ""
    return found


def _answer_card(template, example_id, kinds, text, rows) -> str:
    return str(template.answer_card(example_id, kinds, text, rows))


def classification_score_page(report: Report, gold: Gold, predictions: dict[str, Prediction]) -> dict:
    template, texts, cases = _templates().get_template("cards.html.j2").module, prompts(gold), []
    for example_id, example in gold.examples.items():
        label, confidence = score.predicted_label(predictions.get(example_id), example.labels)
        if label == example.label:
            continue
        kind = {MISSING: "missing"}.get(label, "invalid" if label not in example.labels else "wrong label")
        prediction = predictions.get(example_id)
        rows = [{"who": "gold", "answer": example.label, "detail": "", "raw": None},
                {"who": "predicted", "answer": label, "raw": prediction.output if prediction else None,
                 "detail": f"confidence {confidence:.3f}" if confidence is not None else ""}]
        cases.append({"html": _answer_card(template, example_id, [kind], texts.get(example_id, ""), rows),
                      "labels": [example.label], "kinds": [kind]})
    confusion = report.recorded("confusion")
    tables = [_per_label_table(report.per_label),
              _confusion_table(list(report.per_label), confusion["labels"], confusion["matrix"], "")]
    images = []
    if report.recorded("calibration"):
        from llmner.evaluators import plots

        ece = report.recorded("ece")
        png = plots.png_bytes(*plots.reliability_figure(report.recorded("calibration")["bins"], ece, "reliability"))
        images.append({"id": "reliability", "title": f"Reliability (ECE {ece:.4f}, 15 bins)",
                       "uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii")})
    return _page(f"Classification errors: {report.recorded('system') or ''}".rstrip(": "), report, tables=tables,
                 images=images, cases=cases, labels=sorted({c["labels"][0] for c in cases}),
                 kinds=[k for k in ("wrong label", "invalid", "missing") if any(k in c["kinds"] for c in cases)],
                 label_title="gold label", cases_title="Misclassified examples")


def subject(example_id) -> str:
    """The subject a multiple-choice id names (`cmmlu/test/agronomy-0` -> agronomy), or "all".

    >>> subject("cmmlu/test/agronomy-0"), subject("cmmlu/test/12"), subject(7)
    ('agronomy', 'all', 'all')
    """
    index = str(example_id).split("/")[-1]
    return index.rsplit("-", 1)[0] if "-" in index and "/" in str(example_id) else "all"


def mcq_score_page(report: Report, gold: Gold, predictions: dict[str, Prediction]) -> dict:
    template, texts, cases = _templates().get_template("cards.html.j2").module, prompts(gold), []
    letters = score.predicted_letters(gold, predictions, report.mcq_rule or "strict")
    by_subject = {}
    for example_id, example in gold.examples.items():
        answer, letter = example.answer, letters[example_id]
        if answer is None:
            continue  # a competition test set: nothing to compare with
        tally = by_subject.setdefault(subject(example_id), [0, 0])
        tally[0] += 1
        tally[1] += letter == answer
        if letter == answer:
            continue
        kind = "missing" if letter == MISSING else "unparseable" if letter is None else "wrong"
        prediction = predictions.get(example_id)
        rows = [{"who": "gold", "answer": answer, "detail": "", "raw": None},
                {"who": "predicted", "answer": letter or "(none)", "detail": "",
                 "raw": prediction and (prediction.answer if prediction.output is None else prediction.output)}]
        cases.append({"html": _answer_card(template, example_id, [kind], texts.get(example_id, ""), rows),
                      "labels": [subject(example_id)], "kinds": [kind]})
    table = {"id": "per-subject", "title": "Per subject", "header": ["subject", "questions", "correct", "accuracy"],
             "heat": 0, "rows": [[name, n, ok, f"{ok / n:.4f}"] for name, (n, ok) in sorted(by_subject.items())]}
    return _page(f"Multiple-choice errors: {report.recorded('system') or ''}".rstrip(": "), report, tables=[table],
                 cases=cases, labels=sorted(by_subject), label_title="subject", cases_title="Wrong answers",
                 kinds=[k for k in ("wrong", "unparseable", "missing") if any(k in c["kinds"] for c in cases)])


SCORE_PAGES = {"ner": ner_score_page, "classification": classification_score_page, "mcq": mcq_score_page}


def group(a_right: bool, b_right: bool, same: bool) -> str | None:
    """Where an example goes on a comparison page: fixed by B, broken by B, changed (both wrong, differently).

    >>> group(False, True, False), group(True, False, False), group(False, False, False), group(False, False, True)
    ('fixed', 'broken', 'changed', None)
    """
    if a_right != b_right:
        return "fixed" if b_right else "broken"
    return None if a_right or same else "changed"


GROUPS = ("fixed", "broken", "changed")


def compare_cases(gold: Gold, a: dict[str, Prediction], b: dict[str, Prediction], mcq_rule: str = "strict"):
    template, cases = _templates().get_template("cards.html.j2").module, []
    if gold.task == "ner":
        labels = sorted({e.label for g in gold.examples.values() for e in g.entities})
        colors = label_colors(labels)
        for example_id, example in gold.examples.items():
            views = [ner_view(example_id, example, side.get(example_id), colors) for side in (a, b)]
            items = [view["item"] for view in views]
            right = [item.gold == item.predicted and not item.ungrounded for item in items]
            found = group(*right, (items[0].predicted, items[0].ungrounded) == (items[1].predicted,
                                                                                 items[1].ungrounded))
            if found:
                gold_html = entities_html(example.text, items[0].gold, colors)
                cases.append({"html": str(template.compare_ner_card(example_id, found, gold_html, *views)),
                              "labels": sorted(set(_labels_of(views[0]["found"]) + _labels_of(views[1]["found"]))),
                              "kinds": [found]})
        return cases, "label"
    texts = prompts(gold)
    for example_id, example in gold.examples.items():
        if gold.task == "classification":
            answers = [score.predicted_label(side.get(example_id), example.labels)[0] for side in (a, b)]
            truth, facet = example.label, example.label
        else:
            answers = [score.predicted_letter(side.get(example_id), mcq_rule) for side in (a, b)]
            truth, facet = example.answer, subject(example_id)
        found = truth is not None and group(answers[0] == truth, answers[1] == truth, answers[0] == answers[1])
        if found:
            rows = [{"who": "gold", "answer": truth, "detail": "", "raw": None}]
            rows += [{"who": who, "answer": answer or "(none)", "detail": "", "raw": None}
                     for who, answer in zip("AB", answers)]
            cases.append({"html": _answer_card(template, example_id, [found], texts.get(example_id, ""), rows),
                          "labels": [facet], "kinds": [found]})
    return cases, "gold label" if gold.task == "classification" else "subject"


def compare_page(result: Comparison, gold: Gold, a: dict[str, Prediction], b: dict[str, Prediction]) -> dict:
    cases, label_title = compare_cases(gold, a, b)
    figures, rows = [], []
    for name, row in result.figures.items():
        low, high = row.difference_ci
        holm = (row.model_extra or {}).get("p_value_holm")  # where several figures were tested
        figures.append({"name": f"{name}: B − A", "value": f"{row.difference:+.4f}", "primary": name == result.primary,
                        "ci": f"95% CI [{low:+.4f}, {high:+.4f}]",
                        "p": f"p = {row.p_value:.4f}" + (f" (Holm {holm:.4f})" if holm is not None else "")})
        rows.append([name, f"{row.a:.4f}", f"{row.b:.4f}", f"{row.difference:+.4f}", f"[{low:+.4f}, {high:+.4f}]",
                     f"{row.p_value:.4f}", f"{holm:.4f}" if holm is not None else ""])
    table = {"id": "figures-table", "title": "Each figure", "heat": 0,
             "header": ["figure", "A", "B", "B − A", "95% interval", "p", "Holm p"], "rows": rows}
    counts = Counter(c["kinds"][0] for c in cases)
    drawn = result.bootstrap
    return {"title": "Comparison: B − A", "figures": figures, "tables": [table], "images": [], "warnings": [],
            "note": f"{result.method}, {drawn['resamples']} resamples, seed {drawn['seed']}; examples: "
                    + ", ".join(f"{counts[g]} {g} by B" if g != "changed" else f"{counts[g]} changed (both wrong)"
                                for g in GROUPS)
                    + (" (each side's first run)" if max(result.runs.values()) > 1 else ""),
            "provenance": [("A", result.a), ("B", result.b), ("data", result.data)],
            "cases": cases, "labels": sorted({label for c in cases for label in c["labels"]}),
            "kinds": [g for g in GROUPS if counts[g]], "label_title": label_title,
            "cases_title": "Examples where A and B differ", "page_size": PAGE_SIZE}


def render(page: dict) -> str:
    return _templates().get_template("page.html.j2").render(page=page)


def write_page(path: str | Path, page: dict) -> None:
    with atomic_output(path, encoding="utf-8") as handle:
        handle.write(render(page))
