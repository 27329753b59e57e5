"""Tracked runs: Weights & Biases or SwanLab, off by default, switched on by one variable.

    TRACK=wandb make train RECIPE=recipes/ds15b_lora.yml      # or TRACK=swanlab
    python -m training.tracking --recipe RECIPE --dry-run     # print the command it would run

`make train` runs Axolotl through this module, which appends Axolotl's own config overrides (`--key=value`, applied
by `axolotl.cli.config.load_cfg` before plugins are loaded) to the launch command: the project is the dataset the
recipe trains on (`data/<dataset>/train.jsonl` -> `<dataset>`), the run name the recipe's file name. SwanLab is
Axolotl's own integration (`axolotl.integrations.swanlab.SwanLabPlugin`, appended to the recipe's plugins; it needs
`pip install swanlab`). `WANDB_MODE` / `SWANLAB_MODE` (e.g. `offline`) are passed on, so a run can be tracked
without contacting a server; `TRACK_PROJECT` overrides the project.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
import yaml

TRACKERS = ("wandb", "swanlab")
SWANLAB_PLUGIN = "axolotl.integrations.swanlab.SwanLabPlugin"


def project_and_run(recipe: dict, recipe_path: str) -> tuple[str, str]:
    datasets = recipe.get("datasets") or [{}]
    train_file = Path(str(datasets[0].get("path", "")))
    project = os.environ.get("TRACK_PROJECT") or (train_file.parent.name if train_file.parent.name else "recipes")
    return project, Path(recipe_path).stem


def overrides(recipe: dict, recipe_path: str, track: str | None) -> list[str]:
    """The Axolotl `--key=value` overrides that switch tracking on (none when track is empty)."""
    if not track:
        return []
    if track not in TRACKERS:
        raise click.BadParameter(f"expected TRACK to be one of {', '.join(TRACKERS)} (or unset), got {track!r}")
    project, run = project_and_run(recipe, recipe_path)
    if track == "wandb":
        args = ["--use_wandb=True", f"--wandb_project={project}", f"--wandb_name={run}"]
        return args + ([f"--wandb_mode={os.environ['WANDB_MODE']}"] if os.environ.get("WANDB_MODE") else [])
    plugins = list(recipe.get("plugins") or [])
    plugins += [SWANLAB_PLUGIN] if SWANLAB_PLUGIN not in plugins else []
    args = [f"--plugins={json.dumps(plugins, separators=(',', ':'))}", "--use_swanlab=True",
            f"--swanlab_project={project}", f"--swanlab_experiment_name={run}"]
    return args + ([f"--swanlab_mode={os.environ['SWANLAB_MODE']}"] if os.environ.get("SWANLAB_MODE") else [])


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--recipe", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the command instead of running it.")
@click.argument("launcher", nargs=-1, type=click.UNPROCESSED)
def main(recipe, dry_run, launcher):
    """Run LAUNCHER RECIPE with the tracking overrides TRACK asks for (default launcher: Axolotl through accelerate)."""
    command = [*(launcher or ("accelerate", "launch", "-m", "axolotl.cli.train")), recipe,
               *overrides(yaml.safe_load(Path(recipe).read_text()), recipe, os.environ.get("TRACK"))]
    if dry_run:
        click.echo(" ".join(command))
        return
    sys.stdout.flush()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
