"""Tracked runs: Weights & Biases or SwanLab, off by default, switched on by `llmner train --track` (or TRACK).

    TRACK=wandb make train RECIPE=recipes/ds15b_lora.yml      # or TRACK=swanlab
    llmner train recipes/ds15b_lora.yml --track wandb --dry-run   # print the command it would run

`llmner train` appends Axolotl's own config overrides (`--key=value`, applied by `axolotl.cli.config.load_cfg`
before plugins are loaded) to the launch command: the project is the dataset the recipe trains on
(`data/<dataset>/train.jsonl` -> `<dataset>`), the run name the recipe's file name. SwanLab is Axolotl's own
integration (`axolotl.integrations.swanlab.SwanLabPlugin`, appended to the recipe's plugins; it needs
`pip install swanlab`). `WANDB_MODE` / `SWANLAB_MODE` (e.g. `offline`) are passed on, so a run can be tracked
without contacting a server; `TRACK_PROJECT` overrides the project.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

TRACKERS = ("wandb", "swanlab")
SWANLAB_PLUGIN = "axolotl.integrations.swanlab.SwanLabPlugin"


def project_and_run(recipe: dict, recipe_path: str) -> tuple[str, str]:
    datasets = recipe.get("datasets")
    first = datasets[0] if isinstance(datasets, list) and datasets and isinstance(datasets[0], dict) else {}
    train_file = Path(str(first.get("path", "")))
    project = os.environ.get("TRACK_PROJECT") or (train_file.parent.name if train_file.parent.name else "recipes")
    return project, Path(recipe_path).stem


def overrides(recipe: dict, recipe_path: str, track: str | None) -> list[str]:
    """The Axolotl `--key=value` overrides that switch tracking on (none when track is None)."""
    if track is None:
        return []
    if track not in TRACKERS:
        raise ValueError(f"expected a tracker of {', '.join(TRACKERS)}, got {track!r}")
    project, run = project_and_run(recipe, recipe_path)
    if track == "wandb":
        args = ["--use_wandb=True", f"--wandb_project={project}", f"--wandb_name={run}"]
        return args + ([f"--wandb_mode={os.environ['WANDB_MODE']}"] if os.environ.get("WANDB_MODE") else [])
    plugins = list(recipe.get("plugins") or [])
    plugins += [SWANLAB_PLUGIN] if SWANLAB_PLUGIN not in plugins else []
    args = [f"--plugins={json.dumps(plugins, separators=(',', ':'))}", "--use_swanlab=True",
            f"--swanlab_project={project}", f"--swanlab_experiment_name={run}"]
    return args + ([f"--swanlab_mode={os.environ['SWANLAB_MODE']}"] if os.environ.get("SWANLAB_MODE") else [])
