"""Encoding the shared prompt once (prediction.prefix_cache) gives the answers of encoding it in every row."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


class Tokenizer:
    """What generate_transformers asks of a tokenizer, over plain ids (0 pads, 1 ends)."""

    pad_token_id, eos_token_id = 0, 1

    def pad(self, encoded, return_tensors="pt"):
        width = max(len(ids) for ids in encoded["input_ids"])
        return {"input_ids": torch.tensor([[0] * (width - len(ids)) + ids for ids in encoded["input_ids"]]),
                "attention_mask": torch.tensor([[0] * (width - len(ids)) + [1] * len(ids)
                                                for ids in encoded["input_ids"]])}

    def batch_decode(self, rows, skip_special_tokens=True):
        return [" ".join(str(int(t)) for t in row if int(t) > 1) for row in rows]


def tiny_model():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         attn_implementation="sdpa", bos_token_id=2, eos_token_id=1, pad_token_id=0)
    return LlamaForCausalLM(config).eval()


def prompts():
    generator = torch.Generator().manual_seed(3)
    prefix = torch.randint(2, 64, (12,), generator=generator).tolist()
    return [prefix + torch.randint(2, 64, (n,), generator=generator).tolist() for n in (3, 7, 5, 1, 6)]


def test_the_answers_are_those_of_the_plain_layout():
    from llmner.prediction.predict import generate_transformers

    model, encoded = tiny_model(), prompts()
    plain = generate_transformers(model, Tokenizer(), encoded, 2, 8, prefix_cache=False)
    cached = generate_transformers(model, Tokenizer(), encoded, 2, 8, prefix_cache=True)
    assert cached == plain and all(plain)


def test_the_shared_prompt_is_encoded_once():
    from llmner.prediction.predict import generate_transformers

    model, encoded = tiny_model(), prompts()
    widths = []
    model.model.layers[0].register_forward_hook(lambda module, args, output: widths.append(args[0].shape[:2]))
    generate_transformers(model, Tokenizer(), encoded, 5, 1, prefix_cache=True)
    assert widths == [(1, 12), (5, 7)]  # the prefix once, then each row's own tokens (the longest has 7)
