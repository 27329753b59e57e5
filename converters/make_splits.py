"""Regenerate the fixed split files (maintainers only; the files in the repo are the source of truth). Each records
the count and digest of the sentences it was drawn from, so that a split of another source stops with one line.

    llmner data splits --data-dir ../shared/data
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from llmner.converters.registry import REGISTRY, SEEDED
from llmner.core import options


def split_files(data_dir: Path) -> dict[Path, dict]:
    """Each seeded dataset's split file and its new content, all drawn before any is written."""
    drawn = {}
    for name, module in SEEDED.items():
        entry = REGISTRY[name]
        source = entry.present(data_dir / name, "all") or data_dir / name / entry.files["all"][0]
        drawn[module.SPLIT_FILE] = module.make_split_file(source)
    return drawn


@click.command("splits")
@options.data_dir()
def main(data_dir):
    """Draw converters/splits/{gmb,zh_ner}.json again from the raw files in --data-dir."""
    for path, content in split_files(Path(data_dir)).items():
        path.write_text(json.dumps(content, separators=(",", ":")) + "\n")
        click.echo(f"wrote {path}")
