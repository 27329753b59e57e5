"""The folder tree shows the flow: a core that imports nothing else of the project, stages that import the core,
and no cycle between packages (module-level and function-level imports alike)."""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter

from tests.constants import ROOT

PACKAGES = ("core", "converters", "training", "prediction", "evaluators", "baselines", "benchmarks")
STAGES = PACKAGES[1:]


def imported_packages(path) -> set[str]:
    """The project packages a module imports anywhere in it (inside functions too: lazy imports are arrows)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        found |= {name.split(".")[0] for name in names} & set(PACKAGES)
    return found


def package_graph() -> dict[str, set[str]]:
    return {package: set().union(*(imported_packages(p) for p in (ROOT / package).rglob("*.py"))) - {package}
            for package in PACKAGES}


def test_core_imports_no_stage():
    assert package_graph()["core"] == set()


def test_no_cycle_between_packages():
    graph = package_graph()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:  # pragma: no cover - the failure message is the point
        raise AssertionError(f"import cycle: {error.args[1]}") from None
    assert order[0] == "core"


def test_the_scorer_imports_only_the_core():
    assert package_graph()["evaluators"] == {"core"}


def test_recipes_hold_axolotl_yaml_only():
    assert {p.suffix for p in (ROOT / "recipes").rglob("*") if p.is_file()} == {".yml"}


# Folders of this repository a path can start with; a path under another project (axolotl/core/..., loss/...) is
# written with that project's folder first, so it is never taken for one of ours.
REPOSITORY_FOLDERS = ("core", "converters", "training", "prediction", "evaluators", "baselines", "benchmarks",
                      "recipes", "deepspeed_configs", "slurm", "samples", "tests")
REPOSITORY_PATH = re.compile(r"(?<![\w./<{-])((?:%s)/[\w./-]*[\w/])" % "|".join(REPOSITORY_FOLDERS))


def docstrings(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [text for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and (text := ast.get_docstring(node))]


def named_paths(text: str) -> set[str]:
    """Repository paths written in a text; templates (<model>, {train,validation}, *) are not paths."""
    return {match.rstrip(".") for match in REPOSITORY_PATH.findall(text) if not re.search(r"[<{*]", match)}


def test_named_paths_are_recognised():
    text = ("see prediction/predict.py and tests/test_x.py. Axolotl's axolotl/core/builders/causal.py, "
            "loss/loss_utils.py, recipes/<model>_<method>.yml, data/gmb/train.jsonl")
    assert named_paths(text) == {"prediction/predict.py", "tests/test_x.py"}


def test_every_repository_path_in_a_recipe_or_a_docstring_exists():
    texts = [(path, path.read_text(encoding="utf-8")) for path in sorted((ROOT / "recipes").rglob("*.yml"))]
    for folder in REPOSITORY_FOLDERS:
        texts += [(path, text) for path in sorted((ROOT / folder).rglob("*.py")) for text in docstrings(path)]
    missing = sorted({f"{path.relative_to(ROOT)}: {named}" for path, text in texts for named in named_paths(text)
                      if not (ROOT / named).exists()})
    assert len(texts) > 100 and not missing, missing
