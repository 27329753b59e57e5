"""The project as users install it: the wheel built from the sources, installed into a fresh virtual environment that
cannot see the checkout, and `llmner` run there from another folder (issue 28, item 4).

Installing every dependency from the registry would take minutes, so the fresh environment reads this environment's
third-party packages through a .pth file that lists its site-packages folder. Python does not read the .pth files of
a folder listed that way, so this environment's editable install of the checkout stays off: the test checks that no
package of the project can be imported there before the wheel is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.constants import ROOT

pytestmark = pytest.mark.install

PROJECT_NAMES = ("llmner", "core", "converters", "training", "prediction", "evaluators", "baselines", "benchmarks")
RECIPE = ROOT / "recipes" / "smollm2_135m_lora_conll.yml"
SAMPLE = ROOT / "samples" / "wnut17" / "test_sample.conll"
# Folders of a checkout that are not sources: what a clean clone lacks, left out of the copy the wheel is built from.
NOT_SOURCES = {".git", ".venv", "models", "data", "runs", "outputs", ".cache", ".whl", "build", ".pytest_cache"}


def sources_copy(destination: Path) -> Path:
    """The checkout's sources copied away (setuptools writes build/ and *.egg-info into the folder it builds)."""
    def ignored(folder, names):
        top = Path(folder).resolve() == ROOT
        return {n for n in names if n == "__pycache__" or n.endswith(".egg-info") or (top and n in NOT_SOURCES)}

    return Path(shutil.copytree(ROOT, destination, ignore=ignored, symlinks=True))


def isolation() -> list[str]:
    """pip's option to build with this environment's setuptools (no download) where it meets pyproject.toml's
    build requirements; none (pip fetches them) where it does not."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    try:
        met = all(Requirement(r).specifier.contains(version(Requirement(r).name)) for r in requires)
    except PackageNotFoundError:
        met = False
    return ["--no-build-isolation"] if met else []


def outside_env() -> dict[str, str]:
    """This process's environment without the checkout on the path (the tests run with PYTHONPATH on it) and with no
    virtual environment active."""
    return {key: value for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}


def run(command: list, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


class Installed:
    """A fresh virtual environment with the wheel installed, and a folder away from the checkout to run it in."""

    def __init__(self, root: Path):
        self.root = root
        self.python = root / "venv" / "bin" / "python"
        self.elsewhere = root / "elsewhere"
        self.elsewhere.mkdir()
        self.env = outside_env()
        self.env["PATH"] = f"{self.python.parent}:{self.env.get('PATH', '')}"

    def __call__(self, *command, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return run(list(command), cwd or self.elsewhere, self.env)

    def importable(self, names) -> dict[str, bool]:
        code = ("import importlib.util, json, sys\n"
                "print(json.dumps({n: bool(importlib.util.find_spec(n)) for n in sys.argv[1:]}))")
        result = self(self.python, "-c", code, *names)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("build")
    source = sources_copy(build / "source")
    result = run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation(), "-q", "-w", build / "dist", source],
                 build, outside_env())
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (build / "dist").glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Installed:
    here = Installed(tmp_path_factory.mktemp("install"))
    result = run([sys.executable, "-m", "venv", "--without-pip", here.root / "venv"], here.root, here.env)
    assert result.returncode == 0, result.stderr
    site = here(here.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
    ours = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))  # ordered, without repeats
    (Path(site) / "third_party.pth").write_text("".join(f"{path}\n" for path in ours))
    before = here.importable(PROJECT_NAMES + ("click",))
    assert before.pop("click"), "the fresh environment cannot see this environment's third-party packages"
    assert not any(before.values()), f"the checkout leaks into the fresh environment: {before}"
    result = here(here.python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", wheel)
    assert result.returncode == 0, result.stderr[-3000:]
    return here


def test_the_wheel_installs_one_top_level_name(wheel):
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/")[0] for name in archive.namelist()}
        names = set(archive.namelist())
    assert {name for name in top if not name.endswith(".dist-info")} == {"llmner"}
    assert {"llmner/core/errors.py", "llmner/evaluators/templates/page.html.j2", "llmner/converters/splits/gmb.json",
            "llmner/training/answer_logits.py"} <= names, sorted(names)


def test_only_llmner_is_importable_and_from_the_environment(installed):
    assert installed.importable(PROJECT_NAMES) == {name: name == "llmner" for name in PROJECT_NAMES}
    code = "import llmner, llmner.core.errors as e; print(json.dumps([list(llmner.__path__), e.__file__]))"
    result = installed(installed.python, "-c", f"import json; {code}")
    assert result.returncode == 0, result.stderr
    (path,), errors = json.loads(result.stdout)
    assert Path(errors).is_relative_to(path) and Path(path).is_relative_to(installed.root), result.stdout


@pytest.fixture(scope="module")
def examples(installed) -> list[dict]:
    """The shipped WNUT-17 sample converted by the installed `llmner data convert`, in the folder away from the
    checkout (examples.jsonl)."""
    shutil.copy(SAMPLE, installed.elsewhere / "tweets.conll")
    result = installed("llmner", "data", "convert", "wnut17", "--input", "tweets.conll", "--output",
                       "examples.jsonl", "--split", "test")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in (installed.elsewhere / "examples.jsonl").read_text().splitlines()]


def test_help_and_score_run_installed(installed, examples):
    result = installed("llmner", "--help")
    assert result.returncode == 0 and "score" in result.stdout, result.stderr
    # Every answer right but the first, which is left empty: a score below 1 that only a working scorer gives.
    answers = [{"id": e["id"], "output": e["messages"][-1]["content"] if i else ""} for i, e in enumerate(examples)]
    (installed.elsewhere / "predictions.jsonl").write_text("".join(json.dumps(a) + "\n" for a in answers))
    result = installed("llmner", "score", "--data", "examples.jsonl", "--pred", "predictions.jsonl", "--json",
                       "report.json", "--html", "errors.html")
    assert result.returncode == 0, result.stderr
    report = json.loads((installed.elsewhere / "report.json").read_text())
    assert report["examples"] == len(examples) == 200 and 0.9 < report["sentence_accuracy"] < 1
    assert (installed.elsewhere / "errors.html").stat().st_size > 0  # the page's template is in the wheel


@pytest.fixture
def recipe(installed) -> Path:
    """The demo's recipe copied to a folder of its own, away from the checkout."""
    folder = installed.elsewhere / "my_recipes"
    folder.mkdir(exist_ok=True)
    return Path(shutil.copy(RECIPE, folder / "recipe.yml"))


def test_the_recipe_plugins_resolve_installed(installed, recipe):
    plugins = [line.strip()[2:].split()[0] for line in recipe.read_text().splitlines()
               if line.startswith("  - llmner.")]
    modules = [plugin.rpartition(".")[0] for plugin in plugins]
    assert plugins and all(installed.importable(modules).values()), plugins


def test_budget_runs_installed(installed, recipe):
    result = installed("llmner", "budget", recipe.relative_to(installed.elsewhere))
    assert result.returncode == 0, result.stderr
    assert "GiB" in result.stdout, result.stdout


def test_twin_runs_installed(installed, recipe, examples):
    result = installed("llmner", "twin", recipe, "--out-dir", "twin", "--data", "examples.jsonl", "--examples", "16")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (installed.elsewhere / "twin" / "twin.yml").is_file()
