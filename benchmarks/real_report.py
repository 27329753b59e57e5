"""The bench-real results as Markdown and a learning-curve PNG, from the reports and comparisons the run wrote.

Training speed is stated against this machine's own matrix-multiply peak, measured on the run: LoRA costs about
4·N FLOPs a token (forward 2·N, backward through the frozen weights to the activations 2·N, no weight gradients),
N the model's 134.5M parameters; the attention term (~4·L·T·d per token, under 2% at these lengths) is left out.
"""

from __future__ import annotations

import json
import os
import platform
import time
from importlib.metadata import version
from pathlib import Path

from llmner.core.precision import cpu_has_bf16_unit
from llmner.core.schemas import read_report

SMOLLM2_PARAMETERS = 134_515_008  # counted on the loaded model (tests/test_pretrained.py loads it)


def matmul_peak_gflops(dtype_name: str, size: int = 2048, seconds: float = 3.0) -> float:
    """Sustained GFLOP/s of a square matrix product on this machine, in this dtype, on every core torch uses."""
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    torch.matmul(a, b)  # warm-up: oneDNN picks its kernel (AMX for bf16 where the CPU has it)
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        torch.matmul(a, b)
        runs += 1
    return 2 * size**3 * runs / (time.perf_counter() - started) / 1e9


def machine() -> str:
    """The CPU's model name (Linux), else what platform knows."""
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")] if cpuinfo.exists() else []
    return names[0] if names else platform.processor() or platform.machine()


def interval(value: float, ci: list[float] | None) -> str:
    return f"{value:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else f"{value:.4f}"


def comparison_cell(path: str | None, figure: str = "entity.micro.f1") -> str:
    """One figure's B − A from `llmner compare --json`: the difference, its interval and p."""
    if not path or not Path(path).exists():
        return "(reference)"
    from llmner.evaluators.significance import p_text

    compared = json.loads(Path(path).read_text())
    difference = compared["figures"][figure]  # compare's b - a: this row - reference
    low, high = difference["difference_ci"]
    p = p_text(difference["p_value"], compared["bootstrap"]["resamples"])  # compare's own: `≤ floor`, never 0
    return f"{difference['difference']:+.4f} [{low:+.4f}, {high:+.4f}], p {p if p.startswith('≤') else '= ' + p}"


def row_line(name: str, row: dict) -> str:
    report = read_report(row["report"])
    _, _, _, value, ci = report.headline
    cost = []
    if row.get("steps"):
        if row.get("tokens_per_second"):
            cost.append(f"{row['steps']} steps, {row['train_runtime_seconds']:.0f} s, "
                        f"{row['tokens_per_second']:.0f} tok/s")
        else:  # resumed: the trainer timed its last attempt only
            cost.append(f"{row['steps']} steps, {row['train_wall_seconds']:.0f} s wall over {row['train_attempts']} "
                        "attempts")
    elif row.get("train_wall_seconds"):
        cost.append(f"trained in {row['train_wall_seconds']:.0f} s")
    if row.get("predict_seconds"):
        attempts = row.get("predict_attempts", 1)
        over = f" over {attempts} attempts" if attempts > 1 else ""
        cost.append(f"predicted in {row['predict_seconds']:.0f} s{over}")
    extras = [f"unparseable {report.unparseable}, ungrounded {report.ungrounded_mentions}"] \
        if report.task == "ner" and "output" in Path(row["predictions"]).read_text(encoding="utf-8")[:200] else []
    return (f"| `{name}` | {row.get('kind', '')} | {row.get('train_examples', 0):,} | {interval(value, ci)} | "
            f"{comparison_cell(row.get('comparison'))} | {'; '.join(cost + extras)} |")


def learning_curve_png(path: Path, rows: dict, sizes: list[int], test_set: str) -> None:
    """F1 against training examples, a line a system, titled test_set: what each point is scored on."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure_, axes = plt.subplots(figsize=(6, 4))
    for prefix, label in (("smollm2_lora_", "SmolLM2-135M LoRA SFT"), ("spacy_", "spaCy from scratch"),
                          ("smollm2_crf_", "SmolLM2-135M + CRF tagger")):
        points = []
        for size in sizes:
            row = rows.get(f"{prefix}{size}")
            if row:
                micro = json.loads(Path(row["report"]).read_text())["entity"]["micro"]
                points.append((size, micro["f1"], micro.get("f1_ci") or [micro["f1"]] * 2))
        if points:
            xs, ys, cis = zip(*points)
            axes.errorbar(xs, ys, yerr=[[y - c[0] for y, c in zip(ys, cis)], [c[1] - y for y, c in zip(ys, cis)]],
                          marker="o", capsize=3, label=label)
    axes.set_xscale("log")
    axes.set_xlabel("training examples (a seeded sample of the training split)")
    axes.set_ylabel("strict entity F1 (95% interval)")
    axes.set_title(test_set, fontsize=10)
    axes.legend()
    figure_.tight_layout()
    figure_.savefig(path, dpi=120)
    plt.close(figure_)


def speed_lines(rows: dict) -> list[str]:
    """The timed training runs against this machine's matrix-multiply peaks, measured here and only when there is a
    run to set against them (seconds a dtype; bf16 only where the CPU has the unit: emulated, it takes minutes and
    says nothing about the hardware)."""
    timed = {name: row["tokens_per_second"] for name, row in rows.items() if row.get("tokens_per_second")}
    if not timed:
        return []
    fp32 = matmul_peak_gflops("float32")
    bf16 = matmul_peak_gflops("bfloat16") if cpu_has_bf16_unit() else None
    bf16_text = f"bf16 {bf16:.0f} GFLOP/s" if bf16 else "bf16: emulated on this CPU, not measured"
    lines = [f"Matrix-multiply peak measured on this run: fp32 {fp32:.0f} GFLOP/s, {bf16_text} "
             "(2048² products, every core torch uses).", "",
             "| run | tokens/s | achieved GFLOP/s (4·N per token) | share of the fp32 peak | share of the bf16 peak |",
             "|---|---|---|---|---|"]
    for name, tokens_per_second in timed.items():
        achieved = tokens_per_second * 4 * SMOLLM2_PARAMETERS / 1e9
        lines.append(f"| `{name}` | {tokens_per_second:.0f} | {achieved:.0f} | {achieved / fp32:.0%} | "
                     f"{f'{achieved / bf16:.0%}' if bf16 else 'n/a'} |")
    return lines


def heading_of_test_set(sentences: int, whole: bool) -> str:
    """
    >>> heading_of_test_set(3453, True), heading_of_test_set(500, False)
    ('the whole test set, 3,453 sentences', '500 test sentences (seeded sample, seed 42)')
    """
    return (f"the whole test set, {sentences:,} sentences" if whole
            else f"{sentences:,} test sentences (seeded sample, seed 42)")


def verdict_lines(path: Path) -> list[str]:
    """The LoRA runs against the spaCy runs (compare over runs, spaCy as A): each side's mean ± sd and its runs'
    F1, the paired difference with its interval and p-value, Welch's test where both sides have several runs, and
    compare's own warnings."""
    from llmner.evaluators.significance import p_text

    compared = json.loads(path.read_text())
    f1, resamples = compared["figures"]["entity.micro.f1"], compared["bootstrap"]["resamples"]

    def side(key: str, label: str) -> str:
        runs = f1.get(f"{key}_runs") or [f1[key]]
        spread = f" ± {f1[f'{key}_sd']:.4f}" if f"{key}_sd" in f1 else ""
        return f"| {label} | {len(runs)} | {f1[key]:.4f}{spread} | {', '.join(f'{run:.4f}' for run in runs)} |"

    low, high = f1["difference_ci"]
    p = p_text(f1["p_value"], resamples)
    lines = ["| system | runs | strict F1, mean ± sd | each run |", "|---|---|---|---|",
             side("a", "spaCy from scratch"), side("b", "SmolLM2-135M LoRA"), "",
             f"LoRA − spaCy: **{f1['difference']:+.4f} [{low:+.4f}, {high:+.4f}]**, "
             f"p {p if p.startswith('≤') else '= ' + p} ({compared['method']}, {resamples:,} resamples)."]
    if f1.get("runs_test"):
        lines.append(f"Welch's test over the runs' scores: p = {f1['runs_test']['p_value']:.4f}.")
    return lines + [f"> {warning}" for warning in compared.get("warnings", [])]


def write(out: Path, rows: dict, sentences: int, sizes: list[int], verdict: Path | None = None,
          dataset: str = "conll2003", whole: bool = False) -> None:
    """results.md and learning_curve.png of the rows so far: `sentences` test sentences of `dataset`, `whole` where
    they are its whole test split."""
    speeds = speed_lines(rows)  # a row trained but not scored yet has its training speed; the tables wait for it
    rows = {name: row for name, row in rows.items() if "report" in row}
    ner = {name: row for name, row in rows.items() if "ag_news" not in name}
    ag = {name: row for name, row in rows.items() if "ag_news" in name}
    lines = [f"# bench-real: SmolLM2-135M-Instruct on real data, measured {time.strftime('%Y-%m-%d')}",
             "", f"Command: `make bench-real` (llmner bench real); machine: {machine()}, "
             f"{os.cpu_count()} cores, no GPU; torch {version('torch')}.", ""]
    if verdict:
        lines += [f"## The verdict at {max(sizes):,} training sentences, on "
                  f"{heading_of_test_set(sentences, whole)}", "",
                  *verdict_lines(verdict), ""]
    lines += [f"## {dataset}: {heading_of_test_set(sentences, whole)}, strict entity F1", "",
             f"Δ is this row minus `smollm2_lora_{max(sizes)}` with its paired-bootstrap 95% interval and p-value.", "",
             "| system | kind | training examples | entity F1 [95% CI] | Δ F1 vs fine-tuned [95% CI], p | cost |",
             "|---|---|---|---|---|---|"]
    lines += [row_line(name, row) for name, row in ner.items()]
    if ag:
        lines += ["", "## AG News: label log-probability scoring, untouched model", "",
                  "| variant | accuracy [95% CI] | ECE [95% CI] | temperature |", "|---|---|---|---|"]
        for name, row in ag.items():
            report = json.loads(Path(row["report"]).read_text())
            log = Path(row["predictions"]).with_name(Path(row["predictions"]).stem.replace("predictions", "predict")
                                                     + ".log")
            temperature = next((line.split("temperature ")[-1].rstrip(")\n") for line in
                                log.read_text().splitlines() if "temperature" in line), "1") if log.exists() else "?"
            ece = interval(report["ece"], report.get("ece_ci")) if "ece" in report else "n/a"
            lines.append(f"| `{name}` | {interval(report['accuracy'], report.get('accuracy_ci'))} | "
                         f"{ece} | {temperature} |")
    if speeds:
        lines += ["", "## Training speed", ""] + speeds
    learning_curve_png(out / "learning_curve.png", rows, sizes, f"{dataset}: {heading_of_test_set(sentences, whole)}")
    lines += ["", "![learning curve](learning_curve.png)", ""]
    (out / "results.md").write_text("\n".join(lines), encoding="utf-8")
