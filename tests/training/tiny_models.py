"""Tiny randomly initialised causal LMs for the tests of the training plugins (seconds on a CPU)."""

from __future__ import annotations


def tiny_causal_lm(model_type: str = "llama"):
    """A 2-layer Llama or Qwen2 in training mode, the same weights on every call."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    config_class, model_class = {"llama": (LlamaConfig, LlamaForCausalLM),
                                 "qwen2": (Qwen2Config, Qwen2ForCausalLM)}[model_type]
    torch.manual_seed(0)
    config = config_class(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                          attn_implementation="sdpa")
    return model_class(config).train()
