"""`llmner train RECIPE`: train a recipe with Axolotl on this machine's GPUs, tracked when asked.

    llmner train recipes/ds15b_lora.yml                           # accelerate launch -m axolotl.cli.train RECIPE
    llmner train recipes/ds15b_lora.yml --track wandb --dry-run   # print the command it would run
    llmner train recipes/ds15b_fft.yml --deepspeed deepspeed_configs/zero2.json -- \\
        accelerate launch --multi_gpu --num_processes 8 --mixed_precision bf16 -m axolotl.cli.train

The recipe is loaded and checked first (valid YAML, only keys Axolotl knows), so a malformed or misspelled one is
one line before anything starts. What runs is
LAUNCHER RECIPE [--deepspeed FILE] [tracking overrides]: LAUNCHER is whatever follows `--` (default: Axolotl through
accelerate, a thread per physical core); the Slurm scripts give theirs there, with their multi-node settings, so
`--track`/TRACK works there too.
Where `LLMNER_WORLD_SIZE` is set (the Slurm scripts export nodes x GPUs per node), the run also gets the plugin
`llmner.training.distributed.DistributedPlugin`: every rank stops in one line if its world is not that size.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.recipes import load_recipe
from llmner.training.known_keys import check_known_keys
from llmner.training.tracking import TRACKERS, overrides

LAUNCHER = ("accelerate", "launch", "-m", "axolotl.cli.train")
# training/distributed.py, named here so that `llmner train --help` does not import Axolotl
DISTRIBUTED_PLUGIN = "llmner.training.distributed.DistributedPlugin"


def with_plugin(args: list[str], recipe: dict, plugin: str) -> list[str]:
    """Axolotl overrides `args` with `plugin` added to the one `--plugins=` list (the recipe's, or tracking's).

    >>> with_plugin(["--use_swanlab=True", '--plugins=["a.B"]'], {"plugins": ["a.B"]}, "c.D")
    ['--use_swanlab=True', '--plugins=["a.B","c.D"]']
    """
    given = [arg for arg in args if arg.startswith("--plugins=")]
    plugins = json.loads(given[0].removeprefix("--plugins=")) if given else list(recipe.get("plugins") or [])
    plugins += [plugin] if plugin not in plugins else []
    return [arg for arg in args if arg not in given] + [f"--plugins={json.dumps(plugins, separators=(',', ':'))}"]


def default_launcher(environ=os.environ) -> tuple[str, ...]:
    """Axolotl through accelerate, with one thread per physical core unless OMP_NUM_THREADS says otherwise.

    `accelerate launch` sets OMP_NUM_THREADS=1 for its process unless given `--cpu` or a thread count
    (accelerate/commands/launch.py), so without this a CPU run trains on one core of all (measured: `make
    bench-speed`, "threads" row). On a GPU the count only sizes the host's threads.

    >>> default_launcher({"OMP_NUM_THREADS": "3"})
    ('accelerate', 'launch', '-m', 'axolotl.cli.train')
    """
    if environ.get("OMP_NUM_THREADS"):
        return LAUNCHER
    import psutil

    cores = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    return (*LAUNCHER[:2], "--num_cpu_threads_per_process", str(cores), *LAUNCHER[2:])


def launch_command(recipe_path: str, launcher: tuple[str, ...] = (), deepspeed: str | None = None,
                   track: str | None = None) -> list[str]:
    """The command that trains `recipe_path`, its recipe loaded and checked first: valid YAML, every key one Axolotl
    knows (it drops the others without a word), the DeepSpeed config present.

    >>> launch_command("recipes/ds15b_fft.yml", deepspeed="deepspeed_configs/zero2.json")[-3:]
    ['recipes/ds15b_fft.yml', '--deepspeed', 'deepspeed_configs/zero2.json']
    """
    recipe = load_recipe(recipe_path)
    check_known_keys(recipe, recipe_path)
    if deepspeed is not None and not Path(deepspeed).is_file():
        raise DataError(deepspeed, None, "expected a DeepSpeed config file (see deepspeed_configs/)")
    extra = overrides(recipe, recipe_path, track)
    if os.environ.get("LLMNER_WORLD_SIZE"):  # the Slurm scripts' allocation: every rank checks it (distributed.py)
        extra = with_plugin(extra, recipe, DISTRIBUTED_PLUGIN)
    return [*(launcher or default_launcher()), recipe_path, *(["--deepspeed", deepspeed] if deepspeed else []), *extra]


@click.command("train")
@options.recipe()
@click.option("--track", type=click.Choice(("none", *TRACKERS)), default="none", envvar="TRACK", show_envvar=True,
              show_default=True, help="Track the run with Weights & Biases or SwanLab.")
@click.option("--deepspeed", default=None, help="A DeepSpeed config (deepspeed_configs/) for Axolotl to shard with.")
@options.dry_run(help="Print the command instead of running it.")
@click.argument("launcher", nargs=-1, type=click.UNPROCESSED)
def main(recipe, track, deepspeed, dry_run, launcher):
    """Train RECIPE with Axolotl; LAUNCHER after `--` replaces `accelerate launch -m axolotl.cli.train`."""
    command = launch_command(recipe, launcher, deepspeed, None if track == "none" else track)
    if dry_run:
        click.echo(shlex.join(command))
        return
    sys.stdout.flush()
    try:
        os.execvp(command[0], command)
    except FileNotFoundError:  # its filename is not set: the launcher is named here, or the line says "(file)"
        raise DataError(command[0], None, "expected a launcher on PATH (accelerate, axolotl, python, ...)") from None
