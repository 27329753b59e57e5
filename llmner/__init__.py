"""`llmner`: the project's one command line (llmner/cli.py) and its one import name: the stages are `llmner.core`,
`llmner.converters`, `llmner.training`, `llmner.prediction`, `llmner.evaluators`, `llmner.baselines` and
`llmner.benchmarks`.

An installed wheel holds them beneath this folder (pyproject.toml maps each repository folder there). In the checkout
they are the folders beside this one, so there `llmner.core` is ./core: the repository root is searched after this
folder, which lets `python -m llmner` and the tests run from a clone with nothing installed.
"""

from pathlib import Path

_HERE = Path(__file__).resolve().parent
# Only in a checkout (core/ beside llmner/, not inside it): an installed copy must never search site-packages.
if not (_HERE / "core").is_dir() and (_HERE.parent / "core" / "__init__.py").is_file():
    __path__.append(str(_HERE.parent))
