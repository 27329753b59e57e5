"""Settings Axolotl does not know, refused before a launch: Axolotl drops an unknown key without a word, so a
misspelled `lora_dropuot:` would train hours with the default dropout. `llmner train` checks the recipe's keys (and
each dataset's) against Axolotl's own schema, its plugins' fields included, and names the line of the first one."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import warnings
from pathlib import Path

from llmner.core.errors import DataError


@contextlib.contextmanager
def quiet():
    """Silence what importing Axolotl prints (torchao's and the kernels hub's notices), at the file-descriptor level
    too, so that an error stays the one line it must be; restored afterwards."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.disable(logging.WARNING)
            yield
    finally:
        logging.disable(logging.NOTSET)
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def field_names(model) -> set[str]:
    return {name for field_name, field in model.model_fields.items() for name in (field_name, field.alias) if name}


def unknown_keys(recipe: dict) -> list[str]:
    """Keys of the recipe (`key`) and of its datasets (`datasets[0].key`) that Axolotl's schema does not know, the
    recipe's plugins registered first so that their keys (liger_*) are known."""
    with quiet():
        from axolotl.cli.config import prepare_plugins
        from axolotl.integrations.config import merge_input_args
        from axolotl.utils.dict import DictDefault
        from axolotl.utils.schemas.datasets import SFTDataset

        prepare_plugins(DictDefault(dict(recipe)))
        schema, _ = merge_input_args()
    unknown = [key for key in recipe if key not in field_names(schema)]
    for group in ("datasets", "test_datasets"):
        entries = recipe.get(group) or []
        for number, dataset in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(dataset, dict):
                unknown += [f"{group}[{number}].{key}" for key in dataset if key not in field_names(SFTDataset)]
    return unknown


def key_line(text: str, key: str) -> int | None:
    """The line where a recipe's text sets `key` (its last part for a dataset's key), or None.

    >>> key_line("base_model: m\\nlora_dropuot: 0.05\\n", "lora_dropuot")
    2
    >>> key_line("datasets:\\n  - path: d\\n    roles_to_trian: [assistant]\\n", "datasets[0].roles_to_trian")
    3
    """
    name = re.escape(key.rsplit(".", 1)[-1])
    lines = text.splitlines()
    return next((number for number, line in enumerate(lines, 1) if re.match(rf"\s*(-\s+)?{name}\s*:", line)), None)


def check_known_keys(recipe: dict, path: str | Path) -> None:
    """Refuse a recipe with a key Axolotl would drop, naming its line."""
    unknown = unknown_keys(recipe)
    if unknown:
        text = Path(path).read_text(encoding="utf-8-sig")
        raise DataError(path, key_line(text, unknown[0]),
                        f"expected settings Axolotl knows, not {', '.join(unknown)} (Axolotl would drop "
                        f"{'it' if len(unknown) == 1 else 'them'} without a word)")
