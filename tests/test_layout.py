"""The folder tree shows the flow: a core that imports nothing else of the project, stages that import the core,
and no cycle between packages (module-level and function-level imports alike)."""

from __future__ import annotations

import ast
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
