"""Merge a LoRA recipe's adapter into its base model with Axolotl, then give the merged folder the tokenizer training
used, and check that both encode and decode alike.

    llmner merge recipes/ds15b_lora.yml [-- extra `axolotl merge-lora` options]

Why: Axolotl's merge copies the base model's tokenizer files into OUTPUT_DIR/merged. transformers 5 maps
DeepSeek-R1-Distill-Llama to the right tokenizer class (TokenizersBackend) only when it is loaded by hub id; a local
folder of the same files loads as the SentencePiece-style LlamaTokenizer its tokenizer_config names, which drops
spaces and Chinese characters on decode. Training saved the tokenizer it used into OUTPUT_DIR; that one goes into
merged/ (tokenizer files and chat template), replacing the base's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.recipes import load_recipe
from llmner.training.settings import setting

# Tokenizer files a base model may ship; the base's are removed so that only the training tokenizer's remain.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "tokenizer.model", "vocab.json", "merges.txt", "chat_template.jinja", "chat_template.json")
# English and Chinese as the recipes' data has them: spaces, punctuation, CJK, digits, mixed scripts.
ROUND_TRIP_TEXTS = ("EU rejects German call to boycott British lamb .",
                    "Peter Blackburn met the U.N. envoy in New York on 12 May 2024.",
                    "中国人民银行今天宣布下调存款准备金率0.5个百分点。",
                    "海钓比赛地点在厦门与金门之间的海域，由 Taipei 101 赞助。")


def restore_tokenizer(trained: Path, merged: Path) -> None:
    """Save the tokenizer training saved (in `trained`) into `merged`, in place of the base model's files."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(trained))
    for name in TOKENIZER_FILES:
        (merged / name).unlink(missing_ok=True)
    tokenizer.save_pretrained(str(merged))


def round_trip_differences(trained: Path, merged: Path, texts=ROUND_TRIP_TEXTS) -> list[str]:
    """Where the merged folder's tokenizer encodes or decodes a text differently from the training output's."""
    from transformers import AutoTokenizer

    reference, candidate = AutoTokenizer.from_pretrained(str(trained)), AutoTokenizer.from_pretrained(str(merged))
    differences = []
    for text in texts:
        ids, merged_ids = reference.encode(text), candidate.encode(text)
        if ids != merged_ids:
            differences.append(f"{text!r}: token ids {merged_ids} instead of {ids}")
        elif candidate.decode(ids) != reference.decode(ids):
            differences.append(f"{text!r}: decodes as {candidate.decode(ids)!r} instead of {reference.decode(ids)!r}")
    if reference.chat_template != candidate.chat_template:
        differences.append("chat template differs from training's")
    return differences


@click.command("merge")
@options.recipe()
@click.argument("merge_args", nargs=-1, type=click.UNPROCESSED)
def main(recipe, merge_args):
    """Merge RECIPE's trained LoRA adapter into its base model, with the tokenizer training used."""
    output_dir = Path(setting(load_recipe(recipe), "output_dir", recipe))
    if not (output_dir / "tokenizer_config.json").exists():
        raise DataError(output_dir, None, "expected the training run's output (tokenizer_config.json); train first")
    merge = subprocess.run([sys.executable, "-m", "axolotl.cli.main", "merge-lora", recipe, *merge_args])
    if merge.returncode != 0:  # Axolotl has said why; its status is the command's
        click.get_current_context().exit(merge.returncode)
    merged = output_dir / "merged"
    restore_tokenizer(output_dir, merged)
    if differences := round_trip_differences(output_dir, merged):
        raise DataError(merged, None, "expected the training tokenizer's round trip; " + "; ".join(differences))
    click.echo(f"{merged}: merged weights with the training tokenizer ({len(ROUND_TRIP_TEXTS)} texts round-trip alike)")
