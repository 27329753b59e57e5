"""The answer-only forward (training.answer_logits) gives the loss and gradients of the full forward."""

from __future__ import annotations

import pytest

from tests.training.tiny_models import tiny_causal_lm

torch = pytest.importorskip("torch")


def batch():
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(0, 300, (3, 12), generator=generator)
    labels = input_ids.clone()
    labels[:, :7] = -100  # the prompt
    labels[2, 9:] = -100  # padding of a shorter row
    attention_mask = torch.ones_like(input_ids)
    attention_mask[2, 9:] = 0
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}


def loss_and_grads(model, **extra):
    model.zero_grad()
    loss = model(**batch(), **extra).loss
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("model_type", ["llama", "qwen2"])
@pytest.mark.parametrize("num_items", [None, 11])
def test_same_loss_and_gradients_as_the_full_forward(model_type, num_items):
    from llmner.training.answer_logits import patch

    model = tiny_causal_lm(model_type)
    extra = {} if num_items is None else {"num_items_in_batch": torch.tensor(num_items)}
    full_loss, full_grads = loss_and_grads(model, **extra)
    assert patch(model)
    loss, grads = loss_and_grads(model, **extra)
    assert torch.allclose(loss, full_loss, atol=1e-6)
    assert grads.keys() == full_grads.keys()
    for name, grad in grads.items():
        assert torch.allclose(grad, full_grads[name], atol=1e-6), name


def test_only_labelled_positions_reach_the_head():
    from llmner.training.answer_logits import patch

    model = tiny_causal_lm("llama")
    patch(model)
    logits = model(**batch()).logits
    assert logits.shape == (int((batch()["labels"][:, 1:] != -100).sum()), 300)  # not 3 × 12 rows


def test_evaluation_and_generation_keep_the_full_logits():
    from llmner.training.answer_logits import patch

    model = tiny_causal_lm("llama")
    patch(model)
    model.eval()
    assert model(**batch()).logits.shape == (3, 12, 300)


def test_an_unknown_architecture_is_left_alone():
    from llmner.training.answer_logits import patch

    model = tiny_causal_lm("llama")
    model.config.model_type = "gemma2"  # soft-capped logits: not the plain forward
    forward = model.forward
    assert not patch(model)
    assert model.forward == forward
