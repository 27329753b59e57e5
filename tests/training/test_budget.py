"""`llmner budget`'s header block: written into a recipe's header between its markers, the human-written lines left
as they were, and the published model configs it reads shipped with its package (a wheel holds nothing else)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from llmner.core.errors import DataError
from llmner.training import budget
from tests.cli import llmner
from tests.constants import ROOT

HEADER = ("# Toy · LoRA\n"
          "# GPUs:    1× GPU with 16 GB, chosen because it is common\n"
          "# Rows:    ≈ 1,000 an epoch: 9,000 examples / ~9 per packed row\n")
SETTINGS = ("base_model: Qwen/Qwen2.5-1.5B-Instruct\nadapter: lora\nlora_r: 16\nlora_target_linear: true\n"
            "sequence_len: 1024\nsample_packing: true\nmicro_batch_size: 2\ngradient_accumulation_steps: 4\n"
            "num_epochs: 2\nval_set_size: 0.05\n")


def write_recipe(folder: Path, header: str = HEADER, settings: str = SETTINGS, name: str = "r.yml") -> Path:
    path = folder / name
    path.write_text(header + "\n" + settings, encoding="utf-8")
    return path


def test_write_header_adds_the_block_at_the_headers_end_then_leaves_a_current_one_as_it_is(tmp_path):
    path = write_recipe(tmp_path)
    assert llmner("budget", "--write-header", path).exit_code == 0
    text = path.read_text(encoding="utf-8")
    header, body = text.split("\n\n", 1)
    assert header.startswith(HEADER) and body == SETTINGS  # the human lines and the settings as they were
    block = header[len(HEADER):].split("\n")
    assert block[0] == budget.BLOCK_START and block[-1] == budget.BLOCK_END
    assert [line.split(":")[0] for line in block if not line.startswith(budget.HEADER_INDENT)][1:-1] == \
        ["# Memory", "# Eval", "# Steps"]
    # ceil(ceil(1000 / 2) / 4) = 125 steps an epoch on one GPU, 2 epochs
    assert "1 GPU: 125 × 2 = 250;" in header and "8 GPUs: 16 × 2 = 32." in header
    result = llmner("budget", "--write-header", path)
    assert result.exit_code == 0 and result.output == "" and path.read_text(encoding="utf-8") == text
    assert llmner("budget", "--header", path).output.rstrip("\n") == "\n".join(block)


def test_write_header_rewrites_a_stale_block_in_place(tmp_path):
    path = write_recipe(tmp_path)
    llmner("budget", "--write-header", path)
    current = path.read_text(encoding="utf-8")
    path.write_text(current.replace("micro_batch_size: 2", "micro_batch_size: 4"), encoding="utf-8")
    _, expected = budget.regenerated(path)
    assert expected != path.read_text(encoding="utf-8")  # the block no longer says what the settings give
    assert llmner("budget", "--write-header", path).exit_code == 0
    assert path.read_text(encoding="utf-8") == expected and "at 4×1024 tokens" in expected
    assert expected.count(budget.BLOCK_START) == 1


def test_a_header_without_rows_gets_no_steps_and_a_recipe_without_evaluation_no_eval_line(tmp_path):
    header = HEADER.replace("# Rows:    ≈ 1,000 an epoch: 9,000 examples / ~9 per packed row\n", "")
    recipe = budget.parse_recipe(SETTINGS.replace("val_set_size: 0.05\n", ""), "r.yml")
    block = budget.with_header_block(header + "\n" + SETTINGS, recipe).split("\n\n")[0]
    assert "# Memory:" in block and "; no evaluation" in block
    assert "# Eval:" not in block and "# Steps:" not in block


def test_a_block_without_its_end_marker_is_refused_in_one_line_and_nothing_is_written(tmp_path):
    path = write_recipe(tmp_path, HEADER + budget.BLOCK_START + "\n# Memory:  stale\n")
    good = write_recipe(tmp_path, name="good.yml")
    before = path.read_text(encoding="utf-8"), good.read_text(encoding="utf-8")
    with pytest.raises(DataError, match="expected the budget block to end with a line '# ---'"):
        budget.regenerated(path)
    result = llmner("budget", "--write-header", good, path)
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {path}:4: expected")
    assert (path.read_text(encoding="utf-8"), good.read_text(encoding="utf-8")) == before  # checked before written


def test_a_recipe_without_a_comment_header_is_refused_rather_than_written_into_its_settings(tmp_path):
    path = tmp_path / "r.yml"
    path.write_text(before := "# GPUs:    1× GPU with 16 GB\n" + SETTINGS, encoding="utf-8")  # no blank line
    result = llmner("budget", "--write-header", path)
    assert result.exit_code == 2 and "expected a header of comment lines" in result.stderr
    assert path.read_text(encoding="utf-8") == before


def test_header_and_write_header_together_are_refused():
    result = llmner("budget", "--header", "--write-header", ROOT / "recipes" / "ds15b_lora.yml")
    assert result.exit_code == 2 and "choose one" in result.stderr


def test_the_model_configs_budget_and_twin_read_ship_with_their_package():
    """A wheel holds a package's modules and the package data pyproject.toml declares for it, nothing else. The
    configs lay in a folder of benchmarks (configs/), outside every package, so `llmner budget` and `llmner twin`
    failed in an installed wheel; they must lie inside the package that reads them and match a declared pattern."""
    package = Path(budget.__file__).parent
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"].get(budget.__package__, [])
    for name in sorted(set(budget.MODEL_CONFIGS.values())):
        path = Path(str(budget.CONFIGS / name))
        assert path.is_file() and path.is_relative_to(package), path
        assert any(path.relative_to(package).match(pattern) for pattern in declared), (path, declared)
