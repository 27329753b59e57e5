"""Shards of an examples file, and the checked merge of their predictions.

    llmner predict --model M --data D --output shards/3-of-8.jsonl --shard 3/8     # one Slurm array task
    llmner merge-shards --data D --output predictions.jsonl shards/*-of-8.jsonl

Shard i of N holds the examples at positions i, i + N, i + 2N, ... (round robin: every shard gets long and short
examples alike, whatever order the file is in). The merge writes the predictions in the examples' order and refuses
any id predicted twice, any id the examples do not have and any example left without a prediction, so a lost or
repeated array task cannot pass unnoticed.
"""

from __future__ import annotations

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.ids import parse_id
from llmner.core.io import check_writable, read_jsonl, write_jsonl
from llmner.core.schemas import read_examples


def parse_shard(text: str) -> tuple[int, int]:
    """'i/N' -> (i, N) with 0 <= i < N."""
    index, slash, count = text.partition("/")
    if not (slash and index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise DataError("--shard", None, f"expected INDEX/COUNT with 0 <= INDEX < COUNT (e.g. 0/8), got {text!r}")
    return int(index), int(count)


def shard_of(items: list, index: int, count: int) -> list:
    return items[index::count]


def sub_shard(outer: tuple[int, int], inner: tuple[int, int]) -> tuple[int, int]:
    """Shard `inner` of shard `outer`, as one shard of the whole: positions i + N*m with m = k mod W are exactly the
    positions congruent to i + N*k modulo N*W."""
    (i, n), (k, w) = outer, inner
    return i + n * k, n * w


def merge_predictions(ids: list[str | int], data: str,
                      shards: list[tuple[str, list[tuple[int, dict]]]]) -> list[dict]:
    """Predictions in the examples' order; every example id exactly once. `shards` is [(path, [(line, record)])]."""
    wanted = set(ids)
    found: dict[str | int, dict] = {}
    seen_at: dict[str | int, str] = {}
    for path, records in shards:
        for line, record in records:
            key = parse_id(record.get("id"), path, line).value
            if key not in wanted:
                raise DataError(path, line, f"expected ids of {data}; {key!r} is not one of its examples")
            if key in found:
                raise DataError(path, line, f"expected each id once; {key!r} was already predicted at {seen_at[key]}")
            found[key], seen_at[key] = record, f"{path}:{line}"
    missing = [key for key in ids if key not in found]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise DataError(data, None, f"expected a prediction for every example; none for {missing[0]!r}{more} "
                                    f"(a shard is missing or incomplete)")
    return [found[key] for key in ids]


def example_ids(data: str) -> list[str | int]:
    ids = [example.id for example in read_examples(data)]
    if len(set(ids)) != len(ids):
        raise DataError(data, None, "expected unique example ids (predictions are matched by id)")
    return ids


def merge_files(ids: list[str | int], data: str, shard_paths: list[str], output: str) -> int:
    shards = [(str(path), list(read_jsonl(path))) for path in shard_paths]
    return write_jsonl(output, merge_predictions(ids, data, shards))


@click.command()
@options.data(help="The examples JSONL the shards were cut from.")
@options.output("Merged predictions JSONL to write.")
@click.argument("shard_files", nargs=-1, required=True)
def merge(data, output, shard_files):
    """Merge SHARD_FILES (the predictions of `llmner predict --shard` runs) into one file, checking that every
    example is predicted exactly once."""
    check_writable(output)
    count = merge_files(example_ids(data), data, list(shard_files), output)
    click.echo(f"merged {len(shard_files)} shards: {count} predictions to {output}", err=True)
