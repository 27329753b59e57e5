"""Classification by log-probability: every label's completion scored under the model, one forward pass per batch.

For each example and label, the score is the summed log-probability of the label's tokens and the end-of-turn token
after the exact training prefix (so a label that is the prefix of another does not win by stopping early). The
prediction is the arg-max; the confidence is the softmax over labels of score / T, with the temperature T fitted on a
validation split by minimising its negative log-likelihood (temperature scaling, Guo et al. 2017).
"""

from __future__ import annotations

import math


def label_token_ids(tokenizer, labels: list[str]) -> list[list[int]]:
    return [tokenizer(label, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for label in labels]


def label_logprobs(model, tokenizer, prompts: list[str], labels: list[str], rows_per_batch: int = 64) -> list[list[float]]:
    """[example][label] summed log-probabilities of the label's completion."""
    import torch
    from tqdm import tqdm

    targets = label_token_ids(tokenizer, labels)
    prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    pairs = [(i, j) for i in range(len(prompts)) for j in range(len(labels))]
    scores = [[0.0] * len(labels) for _ in prompts]
    for start in tqdm(range(0, len(pairs), rows_per_batch), desc="scoring labels", unit="batch"):
        batch = pairs[start:start + rows_per_batch]
        rows = [prompt_ids[i] + targets[j] for i, j in batch]
        width = max(len(row) for row in rows)
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows], device=model.device)
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows], device=model.device)
        with torch.inference_mode():
            logprobs = torch.log_softmax(model(input_ids=input_ids, attention_mask=mask).logits.float(), dim=-1)
        for row, (i, j) in enumerate(batch):
            first = len(prompt_ids[i])  # the token at position p is predicted by the logits at p - 1
            positions = torch.arange(first - 1, first - 1 + len(targets[j]), device=model.device)
            chosen = torch.tensor(targets[j], device=model.device)
            scores[i][j] = logprobs[row, positions, chosen].sum().item()
    return scores


def softmax(values: list[float], temperature: float = 1.0) -> list[float]:
    peak = max(values)
    weights = [math.exp((v - peak) / temperature) for v in values]
    total = sum(weights)
    return [w / total for w in weights]


def fit_temperature(scores: list[list[float]], gold: list[int]) -> float:
    """The temperature minimising the negative log-likelihood of the gold labels (optimised in log space)."""
    import torch

    logits = torch.tensor(scores, dtype=torch.float64)
    targets = torch.tensor(gold)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.exp())


def predictions(examples: list[dict], scores: list[list[float]], labels: list[str], temperature: float) -> list[dict]:
    out = []
    for example, row in zip(examples, scores):
        probabilities = softmax(row, temperature)
        best = max(range(len(labels)), key=probabilities.__getitem__)
        out.append({"id": example["id"], "label": labels[best], "confidence": probabilities[best],
                    "scores": dict(zip(labels, probabilities))})
    return out
