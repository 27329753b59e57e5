"""The GPU suite's Markdown table: every measured run, prediction's rates, the targets, what was not measured and,
for a missed target, where the time went."""

from __future__ import annotations

from pathlib import Path

from llmner.benchmarks.gpu_figures import WITHOUT_ZERO, run_label, target_rows


def training_rows(results: dict) -> list[str]:
    summary = results.get("summary", {})
    lines = ["| run | model | method | tokens/s (real) | MFU | peak memory | attention / Liger / packing |",
             "|---|---|---|---|---|---|---|"]
    for name, run in results.get("runs", {}).items():
        if "tokens_per_s" not in run:
            continue
        utilisation = summary.get(f"{name}_mfu")
        memory = run.get("peak_memory_gib")
        lines.append(f"| {run_label(name, run)} | {run.get('model')} | {run.get('method')} | "
                     f"{run['tokens_per_s']:,.0f} | {'—' if utilisation is None else f'{utilisation:.1%}'} | "
                     f"{'—' if memory is None else f'{memory:.1f} GiB'} | "
                     f"{run.get('attention')} / {run.get('liger', False)} / {run.get('packing')} |")
    return lines


def prediction_rows(results: dict) -> list[str]:
    summary, predict = results.get("summary", {}), results.get("runs", {}).get("prediction", {})
    if "speedup" not in predict:
        return []
    lines = ["", "| prediction | examples/s |", "|---|---|",
             f"| one at a time | {predict['one_at_a_time_examples_per_s']:,.2f} |",
             f"| length-sorted batches of {predict['batch_size']} | {predict['batched_examples_per_s']:,.2f} |",
             f"| batches, unconstrained (`make eval`) | {predict['unconstrained_examples_per_s']:,.2f} |",
             f"| batches, constrained (`--constrained {predict['constrained_mode']}`) | "
             f"{predict['constrained_examples_per_s']:,.2f} ({predict['constrained_overhead']:+.1%}) |",
             f"| device seconds per 1,000 GMB test sentences (batched / constrained) | "
             f"{summary['gpu_seconds_per_1000_sentences']:,.1f} / "
             f"{summary['gpu_seconds_per_1000_sentences_constrained']:,.1f} |"]
    if "usd_per_1000_sentences" in summary:
        lines.append(f"| cost per 1,000 sentences | ${summary['usd_per_1000_sentences']:.4f} |")
    return lines


def markdown(results: dict) -> str:
    summary = results.get("summary", {})
    lines = [f"# GPU suite: {results.get('device')}, {results.get('date')}", "",
             f"`{results.get('command')}`" + (" (toy size: shows the path runs, not what a GPU does)"
                                              if results.get("toy") else ""), ""]
    lines += training_rows(results) + prediction_rows(results)
    refused = f" No MFU: {summary['mfu_refused']}." if "mfu_refused" in summary else ""
    lines += ["", "MFU: 6·N FLOPs per token (full fine-tune) or 4·N (LoRA/QLoRA), N the architecture's matmul weights"
              " without the input embedding; attention's matmuls left out (under 1% here)." + refused]
    if any(run.get("zero_dropped") for run in results.get("runs", {}).values()):
        lines += ["", f"{WITHOUT_ZERO}: no DeepSpeed on the machine that ran them (the bundle does not carry it), so "
                      "these runs train bf16 weights with bf16 AdamW states instead of the recipe's ZeRO-2 fp32 "
                      "master weights and states."]
    lines += ["", "| target | measured | target | |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in target_rows(results)]
    skipped = {name: run["skipped"] for name, run in results.get("runs", {}).items() if "skipped" in run}
    if skipped:
        lines += ["", "Not measured: " + "; ".join(f"{name} ({why})" for name, why in skipped.items())]
    lines += profiles(results)
    return "\n".join(lines) + "\n"


def profiles(results: dict) -> list[str]:
    """Where the time goes, for each missed target that has a profile (torch profiler, top operators)."""
    missed = {row[0] for row in target_rows(results) if row[3] == "MISSED"}
    files = []
    if any(what.startswith("training: ") for what in missed):
        files.append(Path(results["out"]) / "train" / "ds15b_fft" / "figures.profile.txt")
    if "prediction: batched ÷ one at a time" in missed:
        files.append(Path(results.get("runs", {}).get("prediction", {}).get("profile", "-")))
    lines = []
    for path in files:
        if path.is_file():
            lines += ["", f"Where the time goes ({path}, top operators):", "", "```",
                      *path.read_text().splitlines()[:20], "```"]
    return lines
