"""The folder tree shows the flow: a core that imports nothing else of the project, stages that import the core,
the root `llmner` that names the stages (loading them by name) and that no stage imports, no cycle between packages
and none between the modules of one package (module-level and function-level imports alike, so an import moved
inside a function cannot hide a cycle)."""

from __future__ import annotations

import ast
import importlib.util
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from tests.constants import ROOT

PACKAGES = ("core", "converters", "training", "prediction", "evaluators", "baselines", "benchmarks", "llmner")
STAGES = PACKAGES[1:-1]
MAPPED = PACKAGES[:-1]  # the folders the wheel maps beneath `llmner` (package-dir in pyproject.toml)


def imported_names(path: Path, module: str) -> set[str]:
    """Every dotted name a module imports anywhere in it (inside functions too: lazy imports are arrows), relative
    imports made absolute; `from a import b` gives both `a` and `a.b`, since b may be a module."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] + [node.module or ""] if node.level
                            else [node.module or ""]).strip(".")
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def stage_name(name: str) -> str:
    """An imported name as the stage folders' names go: llmner.core.io is core/io.py (pyproject.toml maps each folder
    beneath `llmner`); any other name as it is.

    >>> stage_name("llmner.core.io"), stage_name("llmner.cli"), stage_name("click")
    ('core.io', 'llmner.cli', 'click')
    """
    parts = name.split(".")
    return ".".join(parts[1:]) if parts[0] == "llmner" and len(parts) > 1 and parts[1] in PACKAGES else name


def modules_of(root: Path, package: str) -> dict[str, Path]:
    """Each module of `package` under `root` by its dotted name (a package by its own name)."""
    return {".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): path
            for path in (root / package).rglob("*.py")}


def package_graph() -> dict[str, set[str]]:
    """Each package -> the other project packages its modules import."""
    return {package: {stage_name(name).split(".")[0] for module, path in modules_of(ROOT, package).items()
                      for name in imported_names(path, module)} & set(PACKAGES) - {package}
            for package in PACKAGES}


def test_core_imports_no_stage():
    assert package_graph()["core"] == set()


def test_no_package_imports_the_root():
    """`llmner` loads every stage by name when its command runs; an import of it from a stage would run back up."""
    assert sorted(package for package, imported in package_graph().items() if "llmner" in imported) == []


def test_the_root_imports_only_the_core_and_names_real_stage_commands():
    from llmner.cli import COMMANDS

    assert package_graph()["llmner"] == {"core"}
    named = {stage_name(target.split(":")[0]) for target, _ in COMMANDS.values()}
    assert {name.split(".")[0] for name in named} == set(STAGES)
    assert not [name for name in named if name not in modules_of(ROOT, name.split(".")[0])]


def test_no_cycle_between_packages():
    graph = package_graph()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:  # pragma: no cover - the failure message is the point
        raise AssertionError(f"import cycle: {error.args[1]}") from None
    assert order[0] == "core"


def module_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Each module of `package` (under `root`) -> the modules of the same package it imports."""
    modules = modules_of(root, package)
    return {module: {stage_name(name) for name in imported_names(path, module)} & set(modules) - {module}
            for module, path in modules.items()}


def import_cycle(graph: dict[str, set[str]]) -> str | None:
    """One cycle of the graph, written `a -> b -> a`, or None."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return " -> ".join(reversed(error.args[1]))
    return None


@pytest.mark.parametrize("package", PACKAGES + ("tests",))
def test_no_cycle_between_modules_of_a_package(package):
    cycle = import_cycle(module_graph(ROOT, package))
    assert cycle is None, f"import cycle in {package}: {cycle} (an import inside a function counts too)"


def test_the_module_cycle_check_sees_a_cycle_hidden_in_a_function(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "a.py").write_text("from pkg.b import helper\n")
    (folder / "b.py").write_text("def helper():\n    from . import a  # hides the cycle from Python, not from us\n")
    assert import_cycle(module_graph(tmp_path, "pkg")) in ("pkg.a -> pkg.b -> pkg.a", "pkg.b -> pkg.a -> pkg.b")
    (folder / "b.py").write_text("def helper():\n    import json\n")
    assert import_cycle(module_graph(tmp_path, "pkg")) is None


def python_files() -> list[Path]:
    return sorted(path for folder in PACKAGES + ("tests",) for path in (ROOT / folder).rglob("*.py"))


BARE_IMPORT_IN_TEXT = re.compile(r"^\s*(?:>>>|\.\.\.)?\s*(?:from|import)\s+(?:" + "|".join(MAPPED) + r")\b.*", re.M)


def bare_stage_imports(path: Path) -> set[str]:
    """The imports of a stage by its bare name (`core.io`, not `llmner.core.io`) in a file's code, its doctests and
    its strings of code: the wheel installs the stages only beneath `llmner` (a relative import is fine)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    found |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level}
    found = {name for name in found if name.split(".")[0] in MAPPED}
    return found | {match.strip() for match in BARE_IMPORT_IN_TEXT.findall(path.read_text(encoding="utf-8"))}


def test_no_code_imports_a_stage_by_its_bare_name():
    bare = {f"{path.relative_to(ROOT)}: {sorted(names)}" for path in python_files()
            if (names := bare_stage_imports(path))}
    assert not bare, sorted(bare)


def test_the_bare_import_check_sees_each_form(tmp_path):
    path = tmp_path / "x.py"
    for code in ("import core.io\n", "from training import budget\n", '"""\n>>> from evaluators.score import f\n"""\n',
                 'CODE = """\nfrom prediction.shards import x\n"""\n'):
        path.write_text(code)
        assert bare_stage_imports(path), code
    path.write_text('from llmner.core import io\nimport llmner.training.budget\nfrom . import core\n"""core of it"""\n')
    assert not bare_stage_imports(path)


def test_recipes_name_their_plugins_beneath_llmner():
    plugins = {line.strip()[2:].split()[0] for path in (ROOT / "recipes").glob("*.yml")
               for line in path.read_text(encoding="utf-8").splitlines() if re.match(r"\s+- \w+\.\w+\.\w+", line)}
    ours = sorted(plugin for plugin in plugins if plugin.split(".")[0] in PACKAGES + ("llmner",))  # not axolotl's
    assert ours and all(plugin.startswith("llmner.") for plugin in ours), ours
    assert all(importlib.util.find_spec(plugin.rpartition(".")[0]) for plugin in ours), ours


def test_the_wheel_maps_every_package_folder_beneath_llmner():
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = sorted(path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name != "tests")
    assert sorted(setuptools["packages"]) == sorted(["llmner", *(f"llmner.{f}" for f in folders if f != "llmner")])
    assert setuptools["package-dir"] == {f"llmner.{folder}": folder for folder in folders if folder != "llmner"}
    # A key named by its folder (`benchmarks = [...]`) would ship nothing, silently.
    assert set(setuptools["package-data"]) <= set(setuptools["packages"]), setuptools["package-data"]


def test_the_scorer_imports_only_the_core():
    assert package_graph()["evaluators"] == {"core"}


def test_recipes_hold_axolotl_yaml_only():
    assert {p.suffix for p in (ROOT / "recipes").rglob("*") if p.is_file()} == {".yml"}


# Folders of this repository a path can start with; a path under another project (axolotl/core/..., loss/...) is
# written with that project's folder first, so it is never taken for one of ours.
REPOSITORY_FOLDERS = ("core", "converters", "training", "prediction", "evaluators", "baselines", "benchmarks",
                      "llmner", "recipes", "deepspeed_configs", "slurm", "samples", "tests")
REPOSITORY_PATH = re.compile(r"(?<![\w./<{-])((?:" + "|".join(REPOSITORY_FOLDERS) + r")/[\w./-]*[\w/])")


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
