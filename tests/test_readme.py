"""Every path, make target and module the README names exists, so the docs cannot rot."""

from __future__ import annotations

import importlib.util
import re

from tests.constants import ROOT

README = (ROOT / "README.md").read_text()
TOP_LEVEL = ("recipes/", "converters/", "evaluators/", "baselines/", "deepspeed_configs/", "slurm/", "benchmarks/",
             "samples/", "tests/", "converters/splits/", "constraints.txt", ".ci/run")


def test_every_repository_path_exists():
    paths = set(re.findall(r"(?<![\w./])((?:recipes|converters|evaluators|baselines|deepspeed_configs|slurm|benchmarks|"
                           r"samples|tests)/[\w./-]*)", README))
    assert len(paths) > 20
    missing = [p for p in sorted(paths) if not (ROOT / p.rstrip(".")).exists()]
    assert not missing, missing


def test_every_make_target_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.M))
    named = set(re.findall(r"\bmake ([a-z-]+)", README))
    assert {"demo", "test", "data", "eval", "train", "merge"} <= named
    assert named <= targets, named - targets


def test_every_module_exists():
    modules = set(re.findall(r"python -m ([\w.]+)", README))
    assert {"evaluators"} <= modules
    for module in modules:
        assert importlib.util.find_spec(module) is not None, module


def test_every_module_runs(tmp_path):
    """`python -m X --help` answers for every module the README names (a module that imports fine but never calls
    its command would print nothing and do nothing)."""
    import subprocess
    import sys

    for module in sorted(set(re.findall(r"python -m ([\w.]+)", README))):
        result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0 and "Usage:" in result.stdout, (module, result.stderr[-500:])


def test_ci_runs_the_readme_test_command():
    assert "make test" in README and "make test" in (ROOT / ".ci" / "run").read_text()
    for path in TOP_LEVEL:
        assert (ROOT / path).exists(), path


def test_data_table_is_the_registry():
    from converters.registry import markdown_table

    assert markdown_table() in README
