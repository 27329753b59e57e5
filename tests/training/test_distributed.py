"""Real multi-process training on this CPU: a recipe's twin trained by 2 processes through `llmner train -- accelerate
launch --multi_gpu` (DDP over gloo), and by the Slurm multi-node script's own launch line as two local "nodes" (a
faked allocation, c10d rendezvous on 127.0.0.1), each checked from the run itself (training/distributed.py writes the
world size, backend and wrapper it saw) and against 1 process with 2 gradient-accumulation steps: the same rows per
optimizer step, so the same losses, gradient norms and weights. ZeRO and FSDP do not start on a CPU through
accelerate; they are not faked here (tests/training/test_deepspeed_configs.py reads their effective settings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from llmner.training.distributed import FACTS, world_size_error
from llmner.training.twin import make_twin, twin_config
from tests.constants import ROOT

BIN = Path(sys.executable).parent
RECIPE = ROOT / "recipes" / "ds15b_fft.yml"  # a full fine-tune: every weight is compared
TWO_PROCESSES = ["accelerate", "launch", "--multi_gpu", "--num_processes", "2", "--main_process_port", "0", "-m",
                 "axolotl.cli.train"]


def environment(**extra: str) -> dict:
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1", "AXOLOTL_DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false",
            "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1", **extra}


def run(command: list, **extra: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], cwd=ROOT, env=environment(**extra),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


def variant(twin: Path, name: str, **settings) -> Path:
    """A copy of the twin training into its own output folder, with `settings` changed."""
    config = yaml.safe_load(twin.read_text()) | settings
    config["output_dir"] = str(twin.parent / name)
    path = twin.parent / f"{name}.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def facts(twin: Path) -> dict:
    return json.loads((Path(yaml.safe_load(twin.read_text())["output_dir"]) / FACTS).read_text())


def steps(facts: dict) -> list[float]:
    """Each logged step's loss and gradient norm, in order."""
    return [row[key] for row in facts["log_history"] if "loss" in row for key in ("loss", "grad_norm")]


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def update(twin: Path, run: Path):
    """Every weight's change in training, flattened; the rows Axolotl appends to the embedding for a token it adds
    are left out (randomly initialised in each run, never trained on)."""
    import torch

    start, end = weights(twin.parent / "model"), weights(Path(yaml.safe_load(run.read_text())["output_dir"]))
    assert start.keys() == end.keys()
    return torch.cat([(end[name][tuple(slice(0, size) for size in start[name].shape)] - start[name]).flatten()
                      for name in sorted(start)])


def assert_same_training(twin: Path, run_a: Path, run_b: Path) -> None:
    """Losses and gradient norms per step within 1%; the weights' updates within 5% of their size. Adam turns a
    gradient element near zero into a full step of either sign, so rounding (gloo's all-reduce adds in another order
    than accumulation) moves single weights by up to 2 x learning rate; here the updates differ by about 2%. Any
    difference in what was trained (other rows per step, a world of 1) shows in the losses."""
    a, b = steps(facts(run_a)), steps(facts(run_b))
    assert len(a) == len(b) == 2 * 4
    assert a == pytest.approx(b, rel=1e-2)
    update_a, update_b = update(twin, run_a), update(twin, run_b)
    assert float((update_a - update_b).norm()) <= 0.05 * float(update_a.norm())


@pytest.fixture(scope="module")
def twin(tmp_path_factory) -> Path:
    """The twin of ds15b_fft on 64 shipped WNUT-17 sentences, 4 steps of 4 rows per process."""
    out = tmp_path_factory.mktemp("distributed")
    pool = out / "pool.jsonl"
    run([sys.executable, "-m", "llmner", "data", "convert", "wnut17", "--input", ROOT / "samples/wnut17/train.conll",
         "--output", pool, "--split", "train"])
    return make_twin(RECIPE, out / "twin", pool, examples=64, max_steps=4)


@pytest.fixture(scope="module")
def one_process(twin) -> Path:
    """The reference: 1 process, 2 accumulation steps of 4 rows (the rows 2 processes see per step)."""
    reference = variant(twin, "one_process", gradient_accumulation_steps=2)
    run([sys.executable, "-m", "llmner", "train", reference])
    ran = facts(reference)
    assert ran["world_size"] == 1 and ran["backend"] is None and ran["wrapper"] != "DistributedDataParallel"
    return reference


def test_the_twin_carries_what_a_cpu_multi_process_run_needs(tmp_path):
    config = twin_config(yaml.safe_load(RECIPE.read_text()), tmp_path / "model", tmp_path / "train.jsonl", tmp_path, 4)
    assert config["max_memory"] == {"cpu": "64GiB"}
    assert config["plugins"] == ["llmner.training.distributed.DistributedPlugin"]


@pytest.mark.training
def test_two_processes_train_as_one_ddp_world_equal_to_one_process_with_accumulation(twin, one_process):
    two = variant(twin, "two_processes")
    run([sys.executable, "-m", "llmner", "train", two, "--", *TWO_PROCESSES])
    ran = facts(two)
    assert {key: ran[key] for key in ("world_size", "backend", "wrapper", "distributed_type")} == {
        "world_size": 2, "backend": "gloo", "wrapper": "DistributedDataParallel", "distributed_type": "MULTI_CPU"}
    assert_same_training(twin, one_process, two)


@pytest.fixture
def cluster(tmp_path) -> dict:
    """A faked two-node allocation on this machine: srun starts the script's node command for each node at once,
    with its SLURM_NODEID (as Slurm does), scontrol names 127.0.0.1 as the first node; the project's own venv."""
    bin_dir = tmp_path / "slurm_bin"
    bin_dir.mkdir()
    # Node 0 starts first and node 1 once node 0's rendezvous store listens on the script's port ($port, exported
    # to the node command): on real nodes only the first matches the endpoint's host name, here both would try to
    # host it. --kill-on-bad-exit as Slurm does it: a node that fails takes the others down (each node in its own
    # session, so its launcher and ranks go with it), else the survivor waits for its peer until the rendezvous
    # times out.
    stubs = {"srun": '#!/usr/bin/env bash\nnodes=1\nwhile [[ "$1" == --* ]]; do\n'
                     '  [[ "$1" == --nodes=* ]] && nodes="${1#--nodes=}"; shift\ndone\n'
                     'pids=()\nfor ((n = 0; n < nodes; n++)); do\n'
                     '  for _ in {1..240}; do ((n == 0)) || (: > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; '
                     'sleep 0.5; done\n'
                     '  SLURM_NODEID=$n setsid "$@" & pids+=($!)\ndone\n'
                     'for _ in "${pids[@]}"; do\n'
                     '  wait -n || { status=$?; for pid in "${pids[@]}"; do kill -- -"$pid" 2>/dev/null; done; '
                     'exit "$status"; }\ndone\n',
             "scontrol": "#!/bin/sh\necho 127.0.0.1\n"}
    for name, text in stubs.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return {"PATH": f"{bin_dir}:{BIN}:{os.environ['PATH']}", "VENV": str(BIN.parent), "SLURM_JOB_ID": "41",
            "SLURM_JOB_NODELIST": "node[01-02]", "SLURM_NNODES": "2", "SLURM_GPUS_ON_NODE": "1",
            "SLURM_CPUS_PER_TASK": "1", "HF_HOME": str(tmp_path / "hf")}


@pytest.mark.training
def test_the_multinode_script_trains_two_one_gpu_nodes_as_one_world(twin, one_process, cluster):
    """Without --multi_gpu each of these nodes trained alone (world size 1), into the same output_dir, exit 0."""
    nodes = variant(twin, "two_nodes")
    run(["bash", "slurm/train_multinode.sbatch", nodes], **cluster)
    ran = facts(nodes)
    assert (ran["world_size"], ran["backend"], ran["wrapper"], ran["expected_world_size"]) == (
        2, "gloo", "DistributedDataParallel", 2)
    assert_same_training(twin, one_process, nodes)


# --- the refusal, inside every rank -----------------------------------------------------------------------------

def test_a_rank_outside_the_allocated_world_is_refused():
    assert world_size_error({}) is None and world_size_error({"WORLD_SIZE": "8"}) is None
    assert world_size_error({"LLMNER_WORLD_SIZE": "16", "WORLD_SIZE": "16"}) is None
    assert world_size_error({"LLMNER_WORLD_SIZE": "16", "WORLD_SIZE": "8"}).startswith(
        "error: WORLD_SIZE: expected 16 processes in one world")


def test_llmner_train_adds_the_check_where_slurm_allocated_the_world(monkeypatch):
    from llmner.training.train import launch_command

    monkeypatch.delenv("LLMNER_WORLD_SIZE", raising=False)
    assert not any(arg.startswith("--plugins=") for arg in launch_command(str(RECIPE)))
    monkeypatch.setenv("LLMNER_WORLD_SIZE", "16")
    [plugins] = [arg for arg in launch_command(str(RECIPE)) if arg.startswith("--plugins=")]
    recipe_plugins = yaml.safe_load(RECIPE.read_text())["plugins"]
    assert json.loads(plugins.removeprefix("--plugins=")) == [*recipe_plugins,
                                                               "llmner.training.distributed.DistributedPlugin"]
    monkeypatch.setenv("SWANLAB_MODE", "disabled")  # one --plugins list with tracking's plugin, not two
    command = launch_command(str(RECIPE), track="swanlab")
    [plugins] = [arg for arg in command if arg.startswith("--plugins=")]
    assert json.loads(plugins.removeprefix("--plugins="))[-2:] == ["axolotl.integrations.swanlab.SwanLabPlugin",
                                                                   "llmner.training.distributed.DistributedPlugin"]


@pytest.mark.training
def test_a_world_other_than_the_allocation_stops_training_in_one_line(twin):
    """The old multi-node line on one-GPU nodes: one plain process per node. It now stops before loading anything."""
    alone = variant(twin, "alone")
    result = subprocess.run([sys.executable, "-m", "llmner", "train", str(alone), "--", "accelerate", "launch",
                             "--num_processes", "1", "-m", "axolotl.cli.train"], cwd=ROOT, capture_output=True,
                            text=True, env=environment(LLMNER_WORLD_SIZE="2"), timeout=600)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: WORLD_SIZE: expected 2 processes in one world (LLMNER_WORLD_SIZE, from the allocation), "
                      "this rank sees 1: a launch without --multi_gpu trains a separate copy per node"]
    assert not (twin.parent / "alone" / "model.safetensors").exists()
