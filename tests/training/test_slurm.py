"""The Slurm scripts: literal #SBATCH lines with partition and account placeholders, the project's environment, srun
with --cpus-per-task, their launch lines (every step an `llmner` command), and real runs under a faked allocation
(stub srun, scontrol, accelerate and `llmner predict`; `llmner train`, the merge and the scorer run for real).
Shellcheck clean."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.constants import FIXTURES, ROOT

SLURM = sorted((ROOT / "slurm").glob("*.sbatch"))
FIVE = FIXTURES / "five.expected.jsonl"


def run_script(script: str, *args: str, env: dict | None = None, tmp_path: Path | None = None):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SLURM")}
    environment.update(env or {})
    if tmp_path is not None:  # a fake scontrol, as Slurm's would answer for gpu[01-03]
        fake = tmp_path / "bin"
        fake.mkdir(exist_ok=True)
        (fake / "scontrol").write_text("#!/bin/sh\nprintf 'gpu01\\ngpu02\\ngpu03\\n'\n")
        (fake / "scontrol").chmod(0o755)
        environment["PATH"] = f"{fake}:{environment['PATH']}"
    return subprocess.run(["bash", str(ROOT / "slurm" / script), *args], capture_output=True, text=True, cwd=ROOT,
                          env=environment)


# --- the scripts' text ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("script", [p.name for p in SLURM])
def test_slurm_scripts_have_help_strict_mode_and_literal_sbatch_lines(script):
    text = (ROOT / "slurm" / script).read_text()
    assert "set -euo pipefail" in text
    assert all("$" not in line for line in text.splitlines() if line.startswith("#SBATCH"))
    result = run_script(script, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage:")


@pytest.mark.parametrize("script", [p.name for p in SLURM])
def test_slurm_scripts_are_ready_for_a_cluster(script):
    """Placeholders sbatch refuses at submission, the project's environment, and CPUs for every srun step."""
    text = (ROOT / "slurm" / script).read_text()
    lines = text.splitlines()
    assert "#SBATCH --partition=CHANGE_ME" in lines and "#SBATCH --account=CHANGE_ME" in lines
    assert "#SBATCH --cpus-per-task=" in text
    assert re.search(r"^\s*source slurm/env\.sh$", text, re.M)
    steps = [line for line in lines if re.match(r"\s*(\w+=\()?srun ", line)]
    assert steps and all("--cpus-per-task=" in line for line in steps)


def test_the_environment_script_activates_the_venv_and_says_where_the_token_goes():
    text = (ROOT / "slurm" / "env.sh").read_text()
    assert 'source "$venv/bin/activate"' in text
    assert "export HF_HOME=" in text and "HF_TOKEN" in text and "Llama-3.2 is gated" in text


def test_eval_speaks_the_project_vocabulary():
    text = (ROOT / "slurm" / "eval.sbatch").read_text()
    assert "--out-dir" in text and not re.search(r"--out\b(?!-)", text) and "--gold" not in text


@pytest.mark.parametrize("script", [p.name for p in SLURM])
def test_every_step_is_an_llmner_command(script):
    """The same commands as the README and the Makefile (the train scripts launched Axolotl directly, so TRACK did
    nothing there)."""
    text = (ROOT / "slurm" / script).read_text()
    assert re.findall(r"python -m \S+", text) and set(re.findall(r"python -m (\S+)", text)) == {"llmner"}


# --- launch lines (dry runs) ----------------------------------------------------------------------------------------

def test_single_node_launch_line():
    result = run_script("train_node.sbatch", "recipes/ds15b_fft.yml", "--deepspeed", "deepspeed_configs/zero2.json",
                        "--dry-run", env={"SLURM_GPUS_ON_NODE": "4", "SLURM_CPUS_PER_TASK": "32"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("LLMNER_WORLD_SIZE=4 srun --ntasks=1 --cpus-per-task=32 python -m llmner train "
                                     "recipes/ds15b_fft.yml --deepspeed deepspeed_configs/zero2.json -- accelerate "
                                     "launch --num_machines 1 --num_processes 4 --multi_gpu --main_process_port 0 "
                                     "--mixed_precision bf16 -m axolotl.cli.train")


def test_single_gpu_launch_is_one_plain_process():
    result = run_script("train_node.sbatch", "recipes/ds15b_lora.yml", "--dry-run",
                        env={"SLURM_GPUS_ON_NODE": "1", "SLURM_CPUS_PER_TASK": "8"})
    assert result.returncode == 0, result.stderr
    assert "--multi_gpu" not in result.stdout and "--num_processes 1 " in result.stdout
    assert result.stdout.startswith("LLMNER_WORLD_SIZE=1 srun ")


def test_multi_node_launch_lines(tmp_path):
    env = {"SLURM_JOB_NODELIST": "gpu[01-03]", "SLURM_NNODES": "3", "SLURM_GPUS_ON_NODE": "8",
           "SLURM_CPUS_PER_TASK": "32"}
    result = run_script("train_multinode.sbatch", "recipes/ds7b_lora.yml", "--port", "29555", "--dry-run", env=env,
                        tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("LLMNER_WORLD_SIZE=24 srun --nodes=3 --ntasks-per-node=1 --cpus-per-task=32")
    for rank, line in enumerate(lines[1:]):
        assert line == (f"node {rank}: python -m llmner train recipes/ds7b_lora.yml -- accelerate launch --multi_gpu "
                        f"--num_machines 3 --num_processes 24 --machine_rank {rank} --main_process_ip gpu01 "
                        "--main_process_port 29555 --rdzv_backend c10d --mixed_precision bf16 -m axolotl.cli.train")
    assert len(lines) == 4


@pytest.mark.parametrize("gpus", ["1", "8"])
def test_multi_node_is_one_world_for_any_gpus_per_node(tmp_path, gpus):
    """One GPU per node launched without --multi_gpu: accelerate's simple launcher, one separate copy per node."""
    env = {"SLURM_JOB_NODELIST": "gpu[01-02]", "SLURM_NNODES": "2", "SLURM_GPUS_ON_NODE": gpus,
           "SLURM_CPUS_PER_TASK": "8"}
    result = run_script("train_multinode.sbatch", "recipes/ds7b_lora.yml", "--dry-run", env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    world = 2 * int(gpus)
    assert result.stdout.startswith(f"LLMNER_WORLD_SIZE={world} srun ")
    nodes = result.stdout.splitlines()[1:]
    assert all(f"--multi_gpu --num_machines 2 --num_processes {world} " in line for line in nodes)


def test_the_default_port_is_one_free_on_the_first_node(tmp_path):
    """29500 for every job: two jobs whose first node is the same collided."""
    env = {"SLURM_JOB_NODELIST": "gpu[01-02]", "SLURM_NNODES": "2", "SLURM_GPUS_ON_NODE": "8",
           "SLURM_CPUS_PER_TASK": "8"}
    ports = set()
    for _ in range(3):
        result = run_script("train_multinode.sbatch", "recipes/ds7b_lora.yml", "--dry-run", env=env, tmp_path=tmp_path)
        ports.add(int(re.search(r"--main_process_port (\d+)", result.stdout)[1]))
    assert 29500 not in ports and len(ports) > 1


def test_multi_node_refuses_to_run_outside_slurm():
    result = run_script("train_multinode.sbatch", "recipes/ds7b_lora.yml", "--dry-run")
    assert result.returncode != 0 and "inside a Slurm allocation" in result.stderr


def test_eval_script_commands():
    result = run_script("eval.sbatch", "outputs/ds15b_fft", "data/gmb/test.jsonl", "--quantization", "8bit",
                        "--dry-run", env={"SLURM_CPUS_PER_TASK": "8"})
    assert result.stdout.splitlines() == [
        "srun --ntasks=1 --cpus-per-task=8 python -m llmner predict --model outputs/ds15b_fft --data "
        "data/gmb/test.jsonl --quantization 8bit --output outputs/eval/ds15b_fft/predictions.jsonl",
        "python -m llmner score --data data/gmb/test.jsonl --pred outputs/eval/ds15b_fft/predictions.jsonl "
        "--json outputs/eval/ds15b_fft/report.json --confusion-png outputs/eval/ds15b_fft/confusion.png"]


def test_missing_recipe_is_an_error():
    result = run_script("train_node.sbatch", "recipes/nope.yml", "--dry-run")
    assert result.returncode == 2 and "no such recipe" in result.stderr


def test_shellcheck_is_clean():
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    result = subprocess.run([shellcheck, *map(str, SLURM), str(ROOT / "slurm" / "env.sh"), str(ROOT / ".ci" / "run")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# --- real runs under a faked allocation -----------------------------------------------------------------------------

FAKE_PREDICT = """
import json, sys
# `python -m llmner predict` without a model: answers each example of its --shard with the gold answer.
sys.path.insert(0, {root!r})
from llmner.prediction.shards import parse_shard, shard_of
args = sys.argv[4:]
option = dict(zip(args[::2], args[1::2]))
examples = [json.loads(line) for line in open(option["--data"], encoding="utf-8")]
if "--shard" in option:
    examples = shard_of(examples, *parse_shard(option["--shard"]))
with open(option["--output"], "w", encoding="utf-8") as out:
    for e in examples:
        out.write(json.dumps({{"id": e["id"], "output": e["messages"][-1]["content"]}}) + "\\n")
"""


@pytest.fixture
def cluster(tmp_path):
    """A real venv (its own activate script, run under set -u) whose python and accelerate are stubs that log each
    call with the environment it ran in; a stub srun that logs and runs its command once per node."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    log = tmp_path / "calls.log"
    (tmp_path / "fake_predict.py").write_text(FAKE_PREDICT.format(root=str(ROOT)))
    record = f'echo "$(basename "$0") $* | VIRTUAL_ENV=$VIRTUAL_ENV HF_HOME=${{HF_HOME:-}}" >> {log}\n'
    stubs = {
        venv / "bin" / "python": "#!/usr/bin/env bash\n" + record
        + 'if [[ "$1 $2 $3" == "-m llmner predict" ]]; then\n'
        + f'  exec {sys.executable} {tmp_path / "fake_predict.py"} "$@"\nfi\n'
        + f'exec {sys.executable} "$@"\n',
        venv / "bin" / "accelerate": "#!/usr/bin/env bash\n" + record,
        tmp_path / "slurm_bin" / "srun": "#!/usr/bin/env bash\n" + record
        + 'nodes=1\nwhile [[ "$1" == --* ]]; do [[ "$1" == --nodes=* ]] && nodes="${1#--nodes=}"; shift; done\n'
        + 'for ((n = 0; n < nodes; n++)); do SLURM_NODEID=$n "$@" || exit; done\n',
        tmp_path / "slurm_bin" / "scontrol": "#!/bin/sh\nprintf 'gpu01\\ngpu02\\n'\n",
    }
    for path, text in stubs.items():
        path.parent.mkdir(exist_ok=True)
        path.unlink(missing_ok=True)  # the venv's python is a symlink to the real one
        path.write_text(text)
        path.chmod(0o755)
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("SLURM", "HF_HOME", "HF_TOKEN_PATH", "VIRTUAL_ENV"))}
    environment.update(VENV=str(venv), PATH=f"{tmp_path / 'slurm_bin'}:{environment['PATH']}",
                       SLURM_JOB_ID="41", SLURM_CPUS_PER_TASK="6", SLURM_GPUS_ON_NODE="2")

    def run(script, *args, **env):
        result = subprocess.run(["bash", f"slurm/{script}", *args], capture_output=True, text=True, cwd=ROOT,
                                env={**environment, **env})
        calls = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return result, calls

    run.venv = venv
    return run


def test_single_node_training_runs_in_the_venv_through_srun(cluster):
    result, calls = cluster("train_node.sbatch", "recipes/ds15b_fft.yml")
    assert result.returncode == 0, result.stderr
    assert calls[0].startswith("srun --ntasks=1 --cpus-per-task=6 python -m llmner train recipes/ds15b_fft.yml -- ")
    assert calls[1].startswith("python -m llmner train recipes/ds15b_fft.yml -- accelerate launch")
    launch = calls[2]
    assert launch.startswith("accelerate launch --num_machines 1 --num_processes 2 --multi_gpu --main_process_port 0 "
                             "--mixed_precision bf16 -m axolotl.cli.train recipes/ds15b_fft.yml --plugins=")
    assert f"VIRTUAL_ENV={cluster.venv}" in launch and f"HF_HOME={ROOT}/.cache/huggingface" in launch


def test_track_reaches_the_launch_on_the_cluster(cluster):
    """TRACK worked only through `make train`: the Slurm scripts launched Axolotl themselves."""
    result, calls = cluster("train_node.sbatch", "recipes/ds15b_fft.yml", TRACK="wandb", WANDB_MODE="offline")
    assert result.returncode == 0, result.stderr
    [launch] = [call for call in calls if call.startswith("accelerate")]
    assert "axolotl.cli.train recipes/ds15b_fft.yml --use_wandb=True --wandb_project=gmb --wandb_name=ds15b_fft " \
           "--wandb_mode=offline --plugins=" in launch


def test_multi_node_training_launches_each_node_with_its_rank(cluster):
    result, calls = cluster("train_multinode.sbatch", "recipes/ds7b_lora.yml", SLURM_JOB_NODELIST="gpu[01-02]",
                            SLURM_NNODES="2", HF_HOME="/scratch/me/hf")
    assert result.returncode == 0, result.stderr
    assert calls[0].startswith("srun --nodes=2 --ntasks-per-node=1 --cpus-per-task=6")
    launches = [call for call in calls if call.startswith("accelerate")]
    assert [re.search(r"--machine_rank (\d)", call)[1] for call in launches] == ["0", "1"]
    assert all("--main_process_ip gpu01" in call and "HF_HOME=/scratch/me/hf" in call for call in launches)


def test_a_missing_environment_stops_the_job_in_one_line(cluster, tmp_path):
    result, calls = cluster("eval.sbatch", "m", str(FIVE), VENV=str(tmp_path / "nope"))
    assert result.returncode == 2 and not calls
    assert result.stderr.count("\n") == 1 and "make setup" in result.stderr


def test_eval_array_then_merge_and_score(cluster, tmp_path):
    """Three array tasks (ids 1-3, as --array=1-3 gives them) predict their shards; the merge job checks every id."""
    out_dir = tmp_path / "eval"
    for task in (1, 2, 3):
        result, calls = cluster("eval.sbatch", "outputs/m", str(FIVE), "--out-dir", str(out_dir),
                                SLURM_ARRAY_JOB_ID="40", SLURM_ARRAY_TASK_ID=str(task), SLURM_ARRAY_TASK_MIN="1",
                                SLURM_ARRAY_TASK_COUNT="3")
        assert result.returncode == 0, result.stderr
        assert calls[0].startswith("srun --ntasks=1 --cpus-per-task=6 python -m llmner predict --model outputs/m")
        assert f"--shard {task - 1}/3 --output {out_dir}/shards/{task - 1}-of-3.jsonl" in calls[0]
        assert not (out_dir / "report.json").exists()
    result, calls = cluster("eval.sbatch", "outputs/m", str(FIVE), "--out-dir", str(out_dir), "--merge")
    assert result.returncode == 0, result.stderr
    gold = [json.loads(line)["id"] for line in FIVE.read_text().splitlines()]
    merged = [json.loads(line)["id"] for line in (out_dir / "predictions.jsonl").read_text().splitlines()]
    assert merged == gold
    assert json.loads((out_dir / "report.json").read_text())  # the scorer ran on the merged file

    (out_dir / "shards" / "1-of-3.jsonl").unlink()  # a lost array task
    result, _ = cluster("eval.sbatch", "outputs/m", str(FIVE), "--out-dir", str(out_dir), "--merge")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {FIVE}: expected a prediction for every example")


def test_eval_array_with_a_step_is_refused(cluster, tmp_path):
    result, calls = cluster("eval.sbatch", "outputs/m", str(FIVE), "--out-dir", str(tmp_path),
                            SLURM_ARRAY_TASK_ID="4", SLURM_ARRAY_TASK_MIN="0", SLURM_ARRAY_TASK_COUNT="3")
    assert result.returncode == 2 and not calls and "--array=0-2" in result.stderr
