"""The shared-prefix decoder (training.shared_prefix) gives the loss and gradients of the full forward."""

from __future__ import annotations

import pytest

from tests.training.tiny_models import tiny_causal_lm

torch = pytest.importorskip("torch")


def batch(shared: int = 10):
    """Three rows that start with the same `shared` tokens; the last row is shorter (right padding)."""
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(0, 300, (3, 18), generator=generator)
    input_ids[:, :shared] = input_ids[0, :shared]
    labels = input_ids.clone()
    labels[:, :shared + 2] = -100  # the prompt
    labels[2, 15:] = -100
    attention_mask = torch.ones_like(input_ids)
    attention_mask[2, 15:] = 0
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}


def loss_and_grads(model, inputs):
    model.zero_grad()
    loss = model(**inputs).loss
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def with_lora(model):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(2)
    lora = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False))
    return lora.train()


def assert_same(model, inputs):
    full_loss, full_grads = loss_and_grads(model, inputs)
    loss, grads = loss_and_grads(patched(model), inputs)
    assert torch.allclose(loss, full_loss, atol=1e-6)
    assert grads.keys() == full_grads.keys()
    for name, grad in grads.items():
        assert torch.allclose(grad, full_grads[name], atol=1e-6), name


def patched(model):
    from llmner.training.shared_prefix import patch

    assert patch(model)
    return model


@pytest.mark.parametrize("model_type", ["llama", "qwen2"])
def test_same_loss_and_gradients_as_the_full_forward(model_type):
    assert_same(tiny_causal_lm(model_type), batch())


def test_same_gradients_for_lora_adapters_that_shape_the_prefix():
    """The adapters change the prefix's keys and values, so their gradients flow through the shared cache."""
    from llmner.training.shared_prefix import patch

    model = tiny_causal_lm()
    patch(model)  # as the plugin does: after the model is built, before the adapters wrap it
    lora = with_lora(model)
    loss, grads = loss_and_grads(lora, batch())
    reference = with_lora(tiny_causal_lm())
    full_loss, full_grads = loss_and_grads(reference, batch())
    assert torch.allclose(loss, full_loss, atol=1e-6)
    assert {n for n in grads if "lora_" in n} and grads.keys() == full_grads.keys()
    for name, grad in grads.items():
        assert torch.allclose(grad, full_grads[name], atol=1e-6), name


def test_composes_with_answer_only_logits():
    from llmner.training.answer_logits import patch as answer_only

    model = tiny_causal_lm()
    full_loss, full_grads = loss_and_grads(model, batch())
    answer_only(model)
    loss, grads = loss_and_grads(patched(model), batch())
    assert torch.allclose(loss, full_loss, atol=1e-6)
    for name, grad in grads.items():
        assert torch.allclose(grad, full_grads[name], atol=1e-6), name


def test_the_prefix_runs_once():
    """The decoder's layers see one row of the shared prefix, then every row's remainder."""
    model = patched(tiny_causal_lm())
    seen = []
    model.model.layers[0].register_forward_hook(lambda module, args, kwargs_out: seen.append(args[0].shape[:2]))
    model(**batch(shared=10))
    assert seen == [(1, 10), (3, 8)]


@pytest.mark.parametrize("case", ["too short", "left padding", "packed positions"])
def test_falls_back_to_the_full_forward(case):
    model = patched(tiny_causal_lm())
    inputs = batch(shared=3 if case == "too short" else 10)
    if case == "left padding":
        inputs["attention_mask"][1, 0] = 0
    if case == "packed positions":
        inputs["position_ids"] = torch.tensor([list(range(9)) + list(range(9))] * 3)
    seen = []
    model.model.layers[0].register_forward_hook(lambda module, args, kwargs_out: seen.append(args[0].shape[:2]))
    model(**inputs)
    assert seen == [(3, 18)]


def test_evaluation_keeps_the_full_forward():
    model = patched(tiny_causal_lm()).eval()
    seen = []
    model.model.layers[0].register_forward_hook(lambda module, args, kwargs_out: seen.append(args[0].shape[:2]))
    model(**batch())
    assert seen == [(3, 18)]


def test_an_untested_architecture_is_left_alone():
    from llmner.training.shared_prefix import patch

    model = tiny_causal_lm()
    model.config.model_type = "gemma2"
    forward = model.model.forward
    assert not patch(model)
    assert model.model.forward == forward
