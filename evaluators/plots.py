"""Pictures a person would rather look at than read: confusion matrices and reliability diagrams (PNG)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


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
    figure.savefig(path, dpi=120)
    plt.close(figure)


def reliability_png(path: str | Path, bins: list[dict], ece: float, title: str) -> None:
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
    figure.savefig(path, dpi=120)
    plt.close(figure)
