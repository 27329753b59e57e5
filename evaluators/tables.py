"""The report as a readable table on the terminal."""

from __future__ import annotations

from llmner.core.schemas import ClassificationReport, Comparison, McqReport, NerReport, Report, Scores


def _row(name: str, scores: Scores, extra: str = "") -> str:
    return f"{name:<18}{scores.precision:>10.4f}{scores.recall:>10.4f}{scores.f1:>10.4f}{extra}"


def _header(first: str = "") -> list[str]:
    return [f"{first:<18}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]


def figures_with_intervals(report: dict, prefix: str = "") -> list[tuple[str, float, list[float]]]:
    """(figure name, value, [low, high]) for every `<figure>_ci` in the report, in report order.

    >>> figures_with_intervals({"accuracy": 0.5, "accuracy_ci": [0.4, 0.6], "macro": {"f1": 0.3, "f1_ci": [0.2, 0.4]}})
    [('accuracy', 0.5, [0.4, 0.6]), ('macro.f1', 0.3, [0.2, 0.4])]
    """
    found = []
    for key, value in report.items():
        if isinstance(value, dict) and key != "bootstrap":
            found += figures_with_intervals(value, f"{prefix}{key}.")
        elif key.endswith("_ci") and key[:-3] in report:
            found.append((prefix + key[:-3], report[key[:-3]], value))
    return found


def interval_lines(report: Report) -> list[str]:
    found = figures_with_intervals(report.to_json())
    if not found:
        return []
    drawn = report.bootstrap
    over = "whole documents" if drawn.get("cluster") == "doc" else "examples"
    method = f", {drawn['method'].replace('bca', 'BCa')}" if "method" in drawn else ""
    title = f"95% intervals (bootstrap over {over}, {drawn['resamples']} resamples, seed {drawn['seed']}{method})"
    return ["", title] + [f"  {name:<24}{value:>8.4f}  [{low:.4f}, {high:.4f}]" for name, value, (low, high) in found]


def ner_table(report: NerReport) -> str:
    entity = report.entity
    lines = _header("entity (strict)")
    for label, scores in entity.per_label.items():
        lines.append(_row(label, scores, f"{scores.support:>10}"))
    micro = entity.micro
    lines += ["", _row("micro", micro, f"{micro.tp + micro.fn:>10}"), _row("macro", entity.macro),
              _row("token (micro)", report.token.micro),
              f"{'token accuracy':<18}{report.token.accuracy:>30.4f}",
              f"{'sentence accuracy':<18}{report.sentence_accuracy:>30.4f}", "",
              f"examples {report.examples}  tp {micro.tp}  fp {micro.fp}  fn {micro.fn}  "
              f"missing {report.missing_predictions}  unparseable {report.unparseable}  "
              f"ungrounded {report.ungrounded_mentions}  unknown labels {report.unknown_label_predictions}"]
    errors = report.errors
    if any(errors.values()):
        lines.append("errors: " + "; ".join(f"{kind} {value}" for kind, value in errors.items() if value))
    return "\n".join(lines + interval_lines(report))


def classification_table(report: ClassificationReport) -> str:
    lines = _header()
    for label, scores in report.per_label.items():
        lines.append(_row(label, scores, f"{scores.support:>10}"))
    lines += ["", _row("macro", report.macro), f"{'accuracy':<18}{report.accuracy:>30.4f}"]
    if report.recorded("ece") is not None:
        lines.append(f"{'ECE (15 bins)':<18}{report.recorded('ece'):>30.4f}")
    lines.append(f"examples {report.examples}  invalid {report.unparseable}  missing {report.missing_predictions}")
    return "\n".join(lines + interval_lines(report))


def mcq_table(report: McqReport) -> str:
    summary = (f"accuracy {report.accuracy:.4f} ({report.correct}/{report.scored})  "
               f"unparseable {report.unparseable}  missing {report.missing_predictions}  "
               f"examples {report.examples}")
    return "\n".join([summary] + interval_lines(report))


def _side(row: dict, side: str) -> str:
    sd = f" ± {row[side + '_sd']:.4f}" if side + "_sd" in row else ""
    return f"{row[side]:.4f}{sd}"


def comparison_table(comparison: Comparison) -> str:
    """`compare`'s result: each figure for A and B (mean ± sd over runs where there are several), B − A with its 95%
    interval, the p-value ± its Monte-Carlo error (at the floor, `≤ 2 / (B + 1)`), Holm's adjustment for every
    figure but the primary one, and where both sides have several runs Welch's test over the runs' scores."""
    from llmner.evaluators.significance import p_text, small_text

    result = comparison.to_json()  # each figure's row, with the sides' spread where there are several runs
    drawn, runs = comparison.bootstrap, comparison.runs
    lines = [f"A: {result['a']}" + (f" ({runs['a']} runs)" if runs["a"] > 1 else ""),
             f"B: {result['b']}" + (f" ({runs['b']} runs)" if runs["b"] > 1 else ""),
             f"{result['examples']} examples; {result['method']}, {drawn['resamples']} resamples, "
             f"seed {drawn['seed']}", "",
             f"{'figure':<26}{'A':>16}{'B':>16}{'B - A':>9}  {'95% interval':<20}{'p':>9} {'± MC':>7}{'Holm p':>9}"]
    for name, row in result["figures"].items():
        low, high = row["difference_ci"]
        label = name + (" *" if name == result.get("primary") else "")
        holm = f"{p_text(row['p_value_holm'], drawn['resamples']):>9}" if "p_value_holm" in row else f"{'':>9}"
        lines.append(f"{label:<26}{_side(row, 'a'):>16}{_side(row, 'b'):>16}{row['difference']:>+9.4f}  "
                     f"[{low:+.4f}, {high:+.4f}]  {p_text(row['p_value'], drawn['resamples']):>9} "
                     f"{small_text(row['p_value_mc_error']):>7}{holm}")
    if result.get("primary"):
        lines.append("* primary figure, tested alone; the others' p-values are also shown Holm-adjusted")
    return "\n".join(lines + runs_test_lines(result))


def runs_test_lines(result: dict) -> list[str]:
    """Welch's t-test over the runs' own scores, per figure, where both sides have several runs."""
    tested = [(name, row["runs_test"]) for name, row in result["figures"].items() if "runs_test" in row]
    if not tested:
        return []
    runs = tested[0][1]["runs"]
    lines = ["", f"Welch's t-test over the runs' scores ({runs['a']} runs of A, {runs['b']} of B): whether the "
                 "training procedures differ, not only these checkpoints"]
    for name, test in tested:
        t = "undefined" if test["t"] is None else f"{test['t']:+.2f}"
        df = "" if test["df"] is None else f", df {test['df']:.1f}"
        lines.append(f"  {name:<24}t {t}{df}, p {test['p_value']:.4f}")
    return lines


TABLES = {"ner": ner_table, "classification": classification_table, "mcq": mcq_table}
