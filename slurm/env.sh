# shellcheck shell=bash
# Sourced by every slurm/*.sbatch before it runs anything: the job runs where sbatch was called, which must be the
# repository root (sbatch runs a copy of the script, so the script cannot find the repository itself).

# The project's environment (`make setup` creates .venv; VENV=/path/to/venv picks another).
venv="${VENV:-.venv}"
if [[ ! -f "$venv/bin/activate" ]]; then
  echo "error: $PWD/$venv/bin/activate: expected the project's environment; submit from the repository root after" \
    "make setup (or set VENV)" >&2
  exit 2
fi
# shellcheck disable=SC1091  # the venv's own script, made by make setup
source "$venv/bin/activate"

# Model downloads go to HF_HOME: yours if set, else the repository's .cache/huggingface (cluster home directories
# are small; the repository usually sits on a work file system every node sees). Compute nodes often have no
# internet: download on a login node first with the same HF_HOME (`hf download <model id>`) and export
# HF_HUB_OFFLINE=1 before sbatch.
# HF_TOKEN: Llama-3.2 is gated. Accept its licence on its hub page, then either `export HF_TOKEN=hf_...` before
# sbatch (sbatch passes your environment on) or log in once with `hf auth login`; the token file that login wrote
# is still read when HF_HOME is moved here.
if [[ -z "${HF_HOME:-}" ]]; then
  export HF_HOME="$PWD/.cache/huggingface"
  export HF_TOKEN_PATH="${HF_TOKEN_PATH:-$HOME/.cache/huggingface/token}"
fi
export AXOLOTL_DO_NOT_TRACK=1 DO_NOT_TRACK=1 TOKENIZERS_PARALLELISM=false
