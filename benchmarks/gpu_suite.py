"""GPU figures through the path users run: `axolotl train` on full-size twins of the recipes, the seeds' Hugging Face
Trainer way on the same model, and prediction one at a time against length-sorted batches (and constrained).

    make bench-gpu PART=training          # on the GPU machine (benchmarks/bench_gpu.sh installs .whl/ first)
    make bench-gpu PART=prediction
    llmner bench gpu --toy                # the same path at toy size on CPU (what CI runs)

Each part fits one call of under 10 minutes (a time budget skips what would not fit, saying so). Both parts add to
one JSON and rewrite one Markdown table under --out-dir. Every recipe trains on GMB here, the workload the targets
are set for. The suite is this orchestration and five modules: benchmarks/gpu_inputs.py (data, tokenizers, random
models), benchmarks/gpu_training.py (axolotl train and the seeds' Trainer, timed by benchmarks/step_timer.py),
benchmarks/gpu_prediction.py (prediction's own generation, timed), benchmarks/gpu_figures.py (MFU, speed-ups,
targets: derived, never measured) and benchmarks/gpu_report.py (the table).
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

import click
from click.core import ParameterSource

from llmner.benchmarks.gpu_figures import TARGETS, WITHOUT_ZERO, derived, known_peak
from llmner.benchmarks.gpu_inputs import ROOT, Skipped, device, given_files, gmb_files, has
from llmner.benchmarks.gpu_report import markdown
from llmner.core import options
from llmner.core.io import read_json
from llmner.core.recipes import load_recipe
from llmner.core.schemas import read_examples

PARTS = {"training": ["ds15b_fft", "seeds", "ds15b_lora", "ds15b_qlora"],
         "prediction": ["prediction", "llama1b_lora_conll", "ds7b_lora", "dsllama8b_qlora_cmmlu"]}
RUNS = [name for names in PARTS.values() for name in names]
PROGRESS = {"seeds": "the seeds' Trainer", "prediction": "prediction"}


def uses_deepspeed(name: str) -> bool:
    path = ROOT / "recipes" / f"{name}.yml"
    return path.is_file() and bool(load_recipe(path).get("deepspeed"))


def measure_one(name: str, settings: dict) -> dict:
    """One run's figures, or why it was not measured (a missing package, a failed or timed-out run)."""
    from llmner.benchmarks import gpu_prediction, gpu_training

    try:
        if name == "seeds":
            return gpu_training.seeds_way(settings)
        if name == "prediction":
            return gpu_prediction.predict_rates(settings)
        return gpu_training.train_recipe(name, settings)
    except Skipped as why:
        return {"skipped": str(why)}
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return {"skipped": f"failed: {str(error).splitlines()[0]}", "error": str(error)[-1500:]}


def device_name() -> str:
    import torch

    return torch.cuda.get_device_name() if device() == "cuda" else "cpu"


def zero_note(name: str, toy: bool) -> str:
    """What the progress line says about a recipe's DeepSpeed config on this machine."""
    if not uses_deepspeed(name):
        return ""
    if not toy and has("deepspeed"):
        return " (ZeRO-2 through DeepSpeed, as the recipe)"
    return f" ({WITHOUT_ZERO}: {'a toy run on CPU' if toy else 'no DeepSpeed installed on this machine'})"


def measure(names: list[str], settings: dict, results: dict, save) -> None:
    here = device_name()
    for name in names:
        if time.monotonic() > settings["deadline"] - settings["reserve_s"]:
            results["runs"][name] = {"skipped": "not started: the part's time budget is spent"}
            continue
        click.echo(f"== {PROGRESS.get(name, 'axolotl train, twin of recipes/' + name + '.yml')}"
                   + zero_note(name, settings["toy"]), err=True)
        started = time.monotonic()
        # each run its own device and peak: the parts of one results.json may run on different machines
        results["runs"][name] = measure_one(name, settings) | {"wall_s": time.monotonic() - started, "device": here,
                                                               "peak_bf16_tflops": known_peak(here),
                                                               "toy": settings["toy"]}
        save()  # a run that stops half-way still leaves what it measured


def suite_settings(out: Path, train: Path, test: Path, toy: bool, steps: int | None, warmup: int | None,
                   deadline: float, reserve_s: float) -> dict:
    """Sizes of every run: full size on a GPU, a few examples and steps at toy size on CPU."""
    steps = steps or (2 if toy else 20)
    warmup = warmup if warmup is not None else (1 if toy else 3)
    return {"out": out, "train": train, "test": test, "toy": toy, "steps": steps, "warmup": warmup,
            "profile_steps": 0 if toy else 2, "deadline": deadline, "reserve_s": reserve_s,
            # enough examples for every timed step (~10 per packed 2048-token row, 8 rows a step), few on CPU
            "train_examples": 64 if toy else 100 * (warmup + steps + 2), "tokenizer_examples": 200 if toy else 5000,
            "seeds_batch": 4 if toy else 16, "predict_examples": 16 if toy else 512,
            "predict_batch": 8 if toy else 64, "prediction_target": TARGETS["prediction_speedup"]}


def check_inputs(settings: dict) -> None:
    """Every example the runs read, read once first: bad data is one line before any model is built."""
    read_examples(settings["train"], max(settings["train_examples"], settings["tokenizer_examples"]))
    read_examples(settings["test"], settings["predict_examples"])


@click.command()
@click.option("--part", type=click.Choice(["training", "prediction", "all"]), default="all", show_default=True,
              help="training: the 1.5B recipes and the seeds' way; prediction: generation and the other models.")
@options.out_dir("Models, twins, logs, results.json and results.md (kept between parts).", default="runs/bench_gpu")
@options.data("Converted GMB training examples [converted from --data-dir when left at its default and absent].",
              required=False, default="data/gmb/train.jsonl", show_default=True)
@options.eval_data("Converted GMB test examples, the ones prediction is timed on [default: test.jsonl beside "
                   "--data].", required=False)
@options.data_dir(help="Raw datasets: GMB is converted from DIR/gmb when --data is left at its default and absent.",
                  envvar="DATA_DIR")
@click.option("--toy", is_flag=True, help="2-layer models, CPU twin settings, a few steps: the CPU smoke test.")
@click.option("--run", "runs", type=click.Choice(RUNS), multiple=True,
              help="Only this run of the part; repeat it for several [default: every run of the part].")
@options.max_steps(None, "Timed optimizer steps per training run [20; toy 2].")
@click.option("--warmup", type=click.IntRange(min=0), default=None, help="Untimed steps first [3; toy 1].")
@click.option("--budget-s", type=float, default=540.0, show_default=True,
              help="Wall-clock budget of this call; runs that would start after it minus --reserve-s are skipped.")
@click.option("--reserve-s", type=float, default=150.0, show_default=True,
              help="Seconds kept for the runs' own end (saving, the report) within --budget-s.")
@click.option("--usd-per-gpu-hour", type=float, default=None, help="Price, for the cost per 1,000 sentences.")
@click.option("--copy-to", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also copy results.json and results.md here (the GPU machine's $OUT).")
def main(part, out_dir, data, eval_data, data_dir, toy, runs, max_steps, warmup, budget_s, reserve_s, usd_per_gpu_hour,
         copy_to):
    """GPU figures (axolotl train, the seeds' Trainer, prediction) beside their targets, in one JSON and one table."""
    began = time.monotonic()
    # examples a user names are used as given; only the default ones are converted when absent
    defaulted = click.get_current_context().get_parameter_source("data") is ParameterSource.DEFAULT and not eval_data
    given = None if defaulted else given_files(data, eval_data)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    train, test = given or gmb_files(Path(data), out, Path(data_dir))
    settings = suite_settings(out, train, test, toy, max_steps, warmup, began + budget_s, reserve_s)
    check_inputs(settings)
    results_path = out / "results.json"
    results = read_json(results_path) if results_path.exists() else {}
    results.setdefault("runs", {})
    import torch

    results |= {"device": device_name(), "toy": toy,
                "date": datetime.date.today().isoformat(), "out": str(out), "torch": torch.__version__,
                "command": "llmner " + " ".join(sys.argv[1:])}

    def save():
        results["summary"] = derived(results, usd_per_gpu_hour)
        results_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
        (out / "results.md").write_text(markdown(results))
        if copy_to:
            copy_to.mkdir(parents=True, exist_ok=True)
            for name in ("results.json", "results.md"):
                (copy_to / name).write_bytes((out / name).read_bytes())

    names = [name for key in (PARTS if part == "all" else [part]) for name in PARTS[key] if not runs or name in runs]
    measure(names, settings, results, save)
    save()
    click.echo(markdown(results))
