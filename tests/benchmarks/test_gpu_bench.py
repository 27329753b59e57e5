"""The GPU wheel bundle: its listing, its slimming, its size, and (opt-in, `make test-bundle`) the whole suite at toy
size in a fresh Python 3.12 environment holding the GPU machine's stack (torch 2.11, transformers 5.17, accelerate
1.15) and the bundle installed exactly as bench_gpu.sh installs it there."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import zipfile
from pathlib import Path

import pytest

from llmner.benchmarks import gpu_bundle
from tests.constants import ROOT

# The GPU machine's own stack: the bundle must never carry a second copy (it would shadow theirs).
MACHINE_STACK = {"torch", "transformers", "accelerate", "peft", "huggingface-hub", "tokenizers", "safetensors",
                 "numpy", "triton", "pandas", "pyarrow"}
# What the fresh environment gets from PyPI in place of the machine's image (versions of its docs, CPU use only).
MACHINE_PACKAGES = ["torch==2.11.0", "transformers==5.17.0", "accelerate==1.15.0", "huggingface_hub==1.33.0",
                    "tokenizers==0.23.2", "peft==0.20.0", "safetensors", "numpy", "pyyaml", "jinja2", "tqdm", "click",
                    "scipy", "pandas", "pyarrow", "requests", "rich", "sentencepiece", "psutil", "matplotlib",
                    "aiohttp", "attrs", "einops", "numba", "scikit-learn", "msgpack", "xxhash", "protobuf",
                    "py-cpuinfo", "six", "tabulate", "colorama", "cloudpickle", "nvidia-ml-py", "typer", "httpx",
                    "regex", "yarl", "packaging"]
CACHE = Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "llm-ner-recipes" / "gpu-bundle"))


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def constraint_versions() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[gpu_bundle.normalise(name)] = version.strip()
    return pins


def test_listing_takes_constraints_versions_and_leaves_the_machine_stack_alone():
    pins = gpu_bundle.read_listing()
    constraints = constraint_versions()
    assert pins and len({gpu_bundle.normalise(p.name) for p in pins}) == len(pins), "one pin per package"
    for pin in pins:
        assert gpu_bundle.normalise(pin.name) not in MACHINE_STACK, pin.name
        assert constraints.get(gpu_bundle.normalise(pin.name)) == pin.version, f"{pin.spec} is not constraints.txt's"


def test_slim_drops_members_and_their_record_lines(tmp_path):
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo/__init__.py", "")
        archive.writestr("demo/bin/big", b"x" * 100_000)
        archive.writestr("demo-1.0.dist-info/RECORD",
                         "demo/__init__.py,,\ndemo/bin/big,,\ndemo-1.0.dist-info/RECORD,,\n")
    assert gpu_bundle.slim(wheel, ["demo/bin/*"]) > 0
    with zipfile.ZipFile(wheel) as archive:
        assert archive.namelist() == ["demo/__init__.py", "demo-1.0.dist-info/RECORD"]
        assert "big" not in archive.read("demo-1.0.dist-info/RECORD").decode()


def built_bundle() -> Path:
    """The bundle, fetched once per listing digest (reruns and the other tests reuse it)."""
    if not pypi_reachable():
        pytest.skip("PyPI is unreachable: the bundle cannot be downloaded here")
    dest = CACHE / gpu_bundle.listing_digest() / "whl"
    dest.parent.mkdir(parents=True, exist_ok=True)
    gpu_bundle.build(dest)
    return dest


@pytest.mark.bundle  # downloads the wheels from PyPI (skipped where it is unreachable)
def test_bundle_downloads_and_fits_one_call_to_the_gpu_machine():
    dest = built_bundle()
    rows = gpu_bundle.check(dest, gpu_bundle.read_listing(), extra_bytes=gpu_bundle.tree_bytes())
    assert len(rows) == len(gpu_bundle.read_listing())
    assert sum(size for _, size in rows) + gpu_bundle.tree_bytes() <= gpu_bundle.LIMIT_MIB * 2**20


def python312() -> str:
    for candidate in (os.environ.get("PYTHON312"), "/root/.pyenv/versions/3.12.1/bin/python3.12", "python3.12"):
        if candidate and subprocess.run([candidate, "-V"], capture_output=True).returncode == 0:
            return candidate
    pytest.skip("no Python 3.12 here (set PYTHON312)")


def machine_like_environment() -> Path:
    """A Python 3.12 venv with the GPU machine's stack from PyPI (torch's CUDA build runs on CPU), made once."""
    venv = CACHE / "machine-py312-torch2.11"
    if (venv / "ready").exists():
        return venv
    subprocess.run([python312(), "-m", "venv", "--clear", str(venv)], check=True)
    # PIP_CONSTRAINT cleared: the project's constraints are not the machine's
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--only-binary=:all:", *MACHINE_PACKAGES],
                   check=True, env={**os.environ, "PIP_CONSTRAINT": ""})
    (venv / "ready").write_text("\n".join(MACHINE_PACKAGES) + "\n")
    return venv


@pytest.mark.bundle
@pytest.mark.skipif(os.environ.get("RUN_BUNDLE_TEST") != "1",
                    reason="opt-in (downloads ~3 GB the first time): RUN_BUNDLE_TEST=1 or make test-bundle")
def test_suite_runs_from_the_bundle_in_a_fresh_python312(converted, tmp_path):
    bundle = built_bundle()
    venv = machine_like_environment()
    python = str(venv / "bin/python")
    site = tmp_path / "site"
    subprocess.run([python, *gpu_bundle.INSTALL_COMMAND, str(site), *map(str, sorted(bundle.glob("*.whl")))],
                   check=True)
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", "AXOLOTL_DO_NOT_TRACK": "1"}
    result = subprocess.run([python, "-m", "llmner", "bench", "gpu", "--toy", "--out-dir", str(tmp_path / "out"),
                             "--data", str(converted / "gmb" / "train.jsonl"),
                             "--eval-data", str(converted / "gmb" / "test.jsonl"), "--run", "ds15b_fft",
                             "--run", "ds15b_qlora", "--run", "seeds", "--run", "prediction"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "out" / "results.json").read_text())
    assert figures["torch"].startswith("2.11"), figures["torch"]
    for run in ("ds15b_fft", "ds15b_qlora", "seeds"):
        assert figures["runs"][run].get("tokens_per_s", 0) > 0, figures["runs"][run]
    assert figures["runs"]["prediction"]["batched_examples_per_s"] > 0
