"""The prompt every example shares, encoded once for a whole prediction run, not once per example.

Every test example of a fine-tuned task starts with the same system prompt and chat frame (CoNLL-2003 with the full
instruction: ~100 of ~130 prompt tokens). `transformers` generation takes a cache of keys and values for tokens
already seen, so the shared prefix is run once, its cache copied for every batch, and only each example's own tokens
are encoded. The rows are laid out as `[shared prefix | padding | own tokens]`: padding sits after the prefix
(masked out, and positions follow the mask, so every token keeps the position it has in the plain layout), and
generation continues from the right end of every row as with left padding.
"""

from __future__ import annotations

import os

MIN_SHARED_TOKENS = 8  # below this a copied cache saves less than it costs


def shared_prefix_length(rows: list[list[int]]) -> int:
    """How many leading tokens every row shares, leaving every row at least one token of its own.

    >>> shared_prefix_length([[1, 2, 3, 4], [1, 2, 5]])
    2
    >>> shared_prefix_length([[1, 2, 3], [1, 2, 3]])  # the last token is each row's own: generation starts there
    2
    """
    return min(len(os.path.commonprefix(rows)), min(len(row) for row in rows) - 1)


def prefixed_batch(rows: list[list[int]], shared: int, pad_id: int):
    """Input ids and attention mask for rows that start with the same `shared` tokens: the prefix, then each row's
    own tokens padded on the left.

    >>> ids, mask = prefixed_batch([[7, 7, 1, 2], [7, 7, 3]], shared=2, pad_id=0)
    >>> ids.tolist(), mask.tolist()
    ([[7, 7, 1, 2], [7, 7, 0, 3]], [[1, 1, 1, 1], [1, 1, 0, 1]])
    """
    import torch

    width = max(len(row) for row in rows) - shared
    ids = [row[:shared] + [pad_id] * (width - len(row) + shared) + row[shared:] for row in rows]
    mask = [[1] * shared + [0] * (width - len(row) + shared) + [1] * (len(row) - shared) for row in rows]
    return torch.tensor(ids), torch.tensor(mask)


class PrefixCache:
    """The shared prefix's keys and values, computed once; `for_batch` gives a copy per row of a batch."""

    def __init__(self, model, prefix: list[int]):
        import torch

        self.length = len(prefix)
        with torch.inference_mode():
            self.cache = model(input_ids=torch.tensor([prefix], device=model.device), use_cache=True).past_key_values

    def for_batch(self, rows: int):
        import copy

        cache = copy.deepcopy(self.cache)
        cache.batch_repeat_interleave(rows)
        return cache


def prefix_cache_for(model, rows: list[list[int]], enabled: bool = True) -> PrefixCache | None:
    """The cache of the prefix every row shares, or None where it is off, there is one row, or the prefix is too short
    to pay for its copies (MIN_SHARED_TOKENS)."""
    shared = shared_prefix_length(rows) if enabled and len(rows) > 1 else 0
    return PrefixCache(model, rows[0][:shared]) if shared >= MIN_SHARED_TOKENS else None
