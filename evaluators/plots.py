"""Pictures a person would rather look at than read: confusion matrices and reliability diagrams (PNG)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def save(plt, figure, path: str | Path) -> None:
    """Written whole or not at all, like every output of the project."""
    from llmner.core.io import atomic_output

    with atomic_output(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
    plt.close(figure)


def confusion_png(path: str | Path, rows: list[str], columns: list[str], matrix: list[list[int]], title: str) -> None:
    plt = _pyplot()
    size = max(4.0, 0.55 * len(columns) + 2)
    figure, axes = plt.subplots(figsize=(size, size * len(rows) / max(len(columns), 1) + 0.6))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    axes.set_yticks(range(len(rows)), rows)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    peak = max((max(row) for row in matrix if row), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                axes.text(j, i, str(value), ha="center", va="center", fontsize=8,
                          color="white" if value > peak / 2 else "black")
    axes.set_title(title)
    figure.tight_layout()
    save(plt, figure, path)


def reliability_figure(bins: list[dict], ece: float, title: str):
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    filled = [b for b in bins if b["count"]]
    width = bins[0]["high"] - bins[0]["low"]
    axes.bar([b["low"] for b in filled], [b["accuracy"] for b in filled], width=width, align="edge",
             edgecolor="black", label="accuracy")
    axes.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    axes.set_xlabel("confidence")
    axes.set_ylabel("accuracy")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_title(f"{title} (ECE {ece:.3f})")
    axes.legend(loc="upper left")
    figure.tight_layout()
    return plt, figure


def reliability_png(path: str | Path, bins: list[dict], ece: float, title: str) -> None:
    save(*reliability_figure(bins, ece, title), path)


def png_bytes(plt, figure) -> bytes:
    """The figure as PNG bytes (to inline in a page)."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def logged_losses(log_text: str) -> dict[str, list[tuple[int, float]]]:
    """(step, value) series of 'loss' and 'eval_loss' from the dicts a Hugging Face trainer (Axolotl) logs."""
    import ast
    import re

    series = {"loss": [], "eval_loss": []}
    for chunk in re.findall(r"\{'(?:eval_)?loss': [^{}]*\}", log_text):
        record = ast.literal_eval(chunk)
        key = "eval_loss" if "eval_loss" in record else "loss"
        series[key].append((len(series["loss"]), float(record[key])))
    return series


def loss_png(path: str | Path, series: dict[str, list[tuple[int, float]]], title: str) -> None:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6, 4))
    if series["loss"]:
        steps, values = zip(*series["loss"])
        window = max(1, len(values) // 50)  # small batches make single steps noisy: show a moving mean too
        smooth = [sum(values[max(0, i - window + 1):i + 1]) / len(values[max(0, i - window + 1):i + 1])
                  for i in range(len(values))]
        axes.plot(steps, values, color="tab:blue", alpha=0.25, linewidth=0.6, label="train (each step)")
        axes.plot(steps, smooth, color="tab:blue", linewidth=2, label=f"train (mean of {window})")
    if series["eval_loss"]:
        axes.plot(*zip(*series["eval_loss"]), "o-", color="tab:orange", label="validation")
    axes.set_xlabel("logged step")
    axes.set_ylabel("loss")
    axes.set_yscale("log")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    save(plt, figure, path)


def leaderboard_png(path: str | Path, labels: list[str], scores: list[float],
                    intervals: list[list[float] | None], metrics: list[str]) -> None:
    """Horizontal bars, best at the top, with the 95% interval as an error bar where the report has one."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 1.2 + 0.45 * len(labels)))
    below = [s - i[0] if i else 0.0 for s, i in zip(scores, intervals)]
    above = [i[1] - s if i else 0.0 for s, i in zip(scores, intervals)]
    positions = range(len(labels))[::-1]
    axes.barh(list(positions), scores, xerr=[below, above], capsize=4, color="tab:blue", alpha=0.8,
              error_kw={"elinewidth": 1.2})
    axes.set_yticks(list(positions), [f"{label}\n{metric}" for label, metric in zip(labels, metrics)], fontsize=8)
    # every figure is a share in [0, 1]; zoom on where the bars end, so that one-point differences show
    ends = [end for s, i in zip(scores, intervals) for end in (i or [s, s])]
    axes.set_xlim(max(0.0, min(ends) - 0.05), min(1.0, max(ends) + 0.06))
    axes.set_xlabel("score (error bars: 95% bootstrap interval over examples)")
    for y, score, end in zip(positions, scores, above):
        axes.text(score + end, y, f"  {score:.3f}", va="center", ha="left", fontsize=8)
    figure.tight_layout()
    save(plt, figure, path)
