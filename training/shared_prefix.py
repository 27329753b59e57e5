"""An Axolotl plugin that runs the prompt every row of a training batch shares once, not once per row.

In a fine-tuning set built from one instruction, every example starts with the same tokens: the system prompt and
the chat frame (CoNLL-2003 with the full instruction: ~90 of ~150 tokens). Without packing, a batch of 8 runs the
decoder over those tokens 8 times, with identical results, since a causal decoder's states at a position depend only
on the tokens before it. This plugin replaces the decoder's forward, in training only, by two calls: the shared
prefix once, as a batch of one, keeping its keys and values; then every row's remainder, attending to that prefix
through the cache. The prefix's states are repeated over the batch, so the loss and every gradient (the adapters'
too: they shape the prefix's keys and values) are those of the full forward (tests/training/test_shared_prefix.py).

Where the rows share fewer than `MIN_SHARED_TOKENS` tokens, where padding is on the left, where positions restart
within a row (sample packing, as the GPU recipes set it: a packed row holds several examples), or outside training,
the decoder's own forward runs. It composes with training.answer_logits (that one replaces the head, this one the
decoder).
"""

from __future__ import annotations

from axolotl.integrations.base import BasePlugin

from llmner.training.answer_logits import patch_plain_causal_lm

MIN_SHARED_TOKENS = 8  # below this the second call costs more than it saves


def shared_prefix_length(input_ids, attention_mask=None) -> int:
    """How many leading tokens all rows share and attend to, leaving every row at least one token of its own.

    >>> import torch
    >>> shared_prefix_length(torch.tensor([[5, 6, 7, 1], [5, 6, 8, 0]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    2
    >>> shared_prefix_length(torch.tensor([[5, 6, 7], [5, 6, 7]]))  # identical rows keep their last token
    2
    """
    same = (input_ids == input_ids[:1]).all(dim=0).int()
    shared = int(same.cumprod(dim=0).sum())
    if attention_mask is None:
        return min(shared, input_ids.shape[1] - 1)
    attended = attention_mask.int().cumprod(dim=1).sum(dim=1)  # each row's leading run of real tokens
    return max(0, min(shared, int(attended.min()) - 1))


def plain_positions(position_ids) -> bool:
    """True where positions are 0, 1, 2, … on every row (not packed sequences, whose positions restart)."""
    import torch

    if position_ids is None:
        return True
    expected = torch.arange(position_ids.shape[-1], device=position_ids.device)
    return bool((position_ids == expected).all())


def shared_prefix_forward(decoder):
    """`decoder.forward`, running the rows' shared prefix once when training on a batch."""
    import torch
    from transformers.modeling_outputs import BaseModelOutputWithPast

    own_forward = decoder.forward

    def forward(input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, inputs_embeds=None,
                use_cache=None, cache_position=None, **kwargs):
        def own():
            return own_forward(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                               past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=use_cache,
                               cache_position=cache_position, **kwargs)

        if (not decoder.training or input_ids is None or input_ids.shape[0] < 2 or past_key_values is not None
                or inputs_embeds is not None or not plain_positions(position_ids)):
            return own()
        shared = shared_prefix_length(input_ids, attention_mask)
        if shared < MIN_SHARED_TOKENS:
            return own()
        rows, length = input_ids.shape
        prefix = own_forward(input_ids=input_ids[:1, :shared], use_cache=True, **kwargs)
        cache = prefix.past_key_values
        cache.batch_repeat_interleave(rows)  # a copy per row, so autograd sums the rows' gradients into the prefix
        rest = own_forward(input_ids=input_ids[:, shared:], attention_mask=attention_mask, past_key_values=cache,
                           use_cache=True, cache_position=torch.arange(shared, length, device=input_ids.device),
                           **kwargs)
        hidden = torch.cat([prefix.last_hidden_state.expand(rows, -1, -1), rest.last_hidden_state], dim=1)
        return BaseModelOutputWithPast(last_hidden_state=hidden)

    return forward


def patch(model) -> bool:
    """Replace the forward of a plain causal LM's decoder; False (and unchanged) for any other architecture."""
    return patch_plain_causal_lm(model, "SharedPrefixPlugin", lambda plain: setattr(
        plain.get_decoder(), "forward", shared_prefix_forward(plain.get_decoder())))


class SharedPrefixPlugin(BasePlugin):
    """List it in a recipe's `plugins:`; it patches the decoder as soon as the model is built."""

    def post_model_build(self, cfg, model):
        patch(model)
