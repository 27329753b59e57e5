"""An Axolotl plugin that computes the vocabulary's logits and the loss only where a label is, in training.

A causal LM's forward projects every position onto the vocabulary (SmolLM2: 49,152 entries) and takes the
log-softmax there, although with `roles_to_train: [assistant]` only the answer's ~13 of ~60 tokens carry a loss. On
a CPU that projection and its backward were a fifth of a LoRA step. This plugin replaces the forward of the loaded
model, in training only, by the same computation restricted to the labelled positions: the decoder's hidden states,
the output head on the positions whose next token is labelled, and cross-entropy with transformers' own reduction
(a sum over `num_items_in_batch` when the Trainer gives it, a mean otherwise). Rows are independent, so the loss and
every gradient are those of the full forward (tests/training/test_answer_logits.py compares them); evaluation and
generation keep the model's own forward. It helps on a GPU as much (the logits are most of the activation memory of
a small model), so recipes list it whatever the device.

Only architectures whose forward is exactly decoder → head → `ForCausalLMLoss` are patched (Llama, Qwen2/3,
Mistral, SmolLM3); any other is left as it is, with a line in the log saying so.
"""

from __future__ import annotations

import logging

from axolotl.integrations.base import BasePlugin

LOG = logging.getLogger(__name__)

# Plain decoder → lm_head → ForCausalLMLoss, no logit soft-capping or scaling (Gemma 2, Cohere, Granite have them).
PLAIN_CAUSAL_LMS = frozenset({"llama", "qwen2", "qwen3", "mistral", "smollm3"})


def next_token_targets(labels, shift_labels=None):
    """The label each position predicts (position t predicts token t+1); -100 where nothing is learned.

    >>> import torch
    >>> next_token_targets(torch.tensor([[-100, -100, 7, 8]])).tolist()
    [[-100, 7, 8, -100]]
    """
    import torch.nn.functional as F

    if shift_labels is not None:  # given already shifted (context parallelism)
        return shift_labels
    return F.pad(labels, (0, 1), value=-100)[:, 1:]


def answer_only_forward(model):
    """`model.forward`, computing logits and loss on labelled positions only when training with labels."""
    import torch.nn.functional as F
    from transformers.modeling_outputs import CausalLMOutputWithPast

    full_forward = model.forward

    def forward(input_ids=None, labels=None, logits_to_keep=0, **kwargs):
        if labels is None or not model.training:
            return full_forward(input_ids=input_ids, labels=labels, logits_to_keep=logits_to_keep, **kwargs)
        targets = next_token_targets(labels, kwargs.pop("shift_labels", None))
        num_items = kwargs.get("num_items_in_batch")
        hidden = model.get_decoder()(input_ids=input_ids, **kwargs).last_hidden_state
        kept = targets != -100
        logits = model.get_output_embeddings()(hidden[kept]).float()
        loss = F.cross_entropy(logits, targets[kept], reduction="sum" if num_items is not None else "mean")
        if num_items is not None:
            loss = loss / (num_items.to(loss.device) if hasattr(num_items, "to") else num_items)
        return CausalLMOutputWithPast(loss=loss, logits=logits)  # the labelled positions' logits, flattened

    return forward


def patch_plain_causal_lm(model, plugin: str, replace) -> bool:
    """`replace(model)` where the model is a plain causal LM (the architectures these patches are tested on); False,
    with a line in the log, and the model unchanged for any other."""
    model_type = getattr(model.config, "model_type", None)
    if model_type not in PLAIN_CAUSAL_LMS:
        LOG.warning("%s: %s is not a plain causal LM here; its own forward kept", plugin, model_type)
        return False
    replace(model)
    return True


def patch(model) -> bool:
    """Replace the forward of a plain causal LM; False (and unchanged) for any other architecture."""
    return patch_plain_causal_lm(model, "AnswerOnlyLogitsPlugin",
                                 lambda plain: setattr(plain, "forward", answer_only_forward(plain)))


class AnswerOnlyLogitsPlugin(BasePlugin):
    """List it in a recipe's `plugins:`; it patches the model as soon as it is built (before any adapter wraps it)."""

    def post_model_build(self, cfg, model):
        patch(model)
