"""Classification by log-probability: every label's completion scored under the model, each prompt run once.

For each example and label, the score is the summed log-probability of the label's tokens and the end-of-turn token
after the exact training prefix (so a label that is the prefix of another does not win by stopping early). The
prediction is the arg-max; the confidence is the softmax over labels of score / T, with the temperature T fitted on a
validation split by minimising its negative log-likelihood (temperature scaling, Guo et al. 2017).

    llmner predict-labels --model M --data data/zh_news/test.jsonl --output preds.jsonl \
        --calibration-data data/zh_news/validation.jsonl
"""

from __future__ import annotations

import math

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.io import write_jsonl
from llmner.core.schemas import ClassificationPrediction, Example, read_examples
from llmner.prediction.partial import PartialAnswers
from llmner.prediction.predict import (
    CHAT_TEMPLATE,
    DATA,
    DTYPE,
    EXAMPLES,
    MODEL,
    OUTPUT,
    QUANTIZATION,
    SHARD,
    examples_to_predict,
    length_sorted_batches,
    load_model,
    run_settings,
    training_prompts,
)


def label_token_ids(tokenizer, labels: list[str]) -> list[list[int]]:
    return [tokenizer(label, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for label in labels]


def padded(tokenizer, rows: list[list[int]], side: str):
    """(ids, mask) of token-id rows padded by the tokenizer on `side`."""
    batch = tokenizer.pad({"input_ids": rows}, padding_side=side, return_tensors="pt")
    return batch["input_ids"], batch["attention_mask"]


def label_logprobs(model, tokenizer, prompts: list[str], label_sets: list[list[str]],
                   prompts_per_batch: int = 16, on_batch=None) -> list[list[float]]:
    """[example][label] summed log-probabilities of each of the example's own labels' completion; `on_batch(indices,
    scores)` is called as each batch ends.

    Each prompt is run once: its key/value cache is copied to one row per candidate label, and only the labels'
    few tokens are run on top (the prompt is most of the tokens, so this is about as many times faster as there are
    labels). Prompts are batched longest first, so that a batch pads little, and the prompt's pass computes the
    vocabulary's logits at its last position only, the one that predicts a label. Examples may have different label
    sets (Fudan news gives each its own candidates)."""
    import torch
    from tqdm import tqdm

    prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    targets = [label_token_ids(tokenizer, labels) for labels in label_sets]
    scores: list[list[float]] = [[] for _ in prompts]
    for batch in tqdm(length_sorted_batches([len(ids) for ids in prompt_ids], prompts_per_batch),
                      desc="scoring labels", unit="batch"):
        ids, mask = padded(tokenizer, [prompt_ids[i] for i in batch], "left")  # every prompt ends in the last column
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        rows = [(b, j) for b, i in enumerate(batch) for j in range(len(targets[i]))]
        owner = torch.tensor([b for b, _ in rows])
        label_rows = [targets[batch[b]][j] for b, j in rows]
        label_ids, label_mask = padded(tokenizer, label_rows, "right")
        width = label_ids.shape[1]
        device = model.device
        with torch.inference_mode():
            prompt_out = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                               position_ids=positions.to(device), use_cache=True, logits_to_keep=1)
            first = torch.log_softmax(prompt_out.logits[:, -1].float(), -1)  # predicts each label's first token
            cache = prompt_out.past_key_values
            cache.reorder_cache(owner.to(device))  # one copy of its prompt's cache per label row
            label_positions = mask.sum(-1)[owner, None] + torch.arange(width)
            label_out = model(input_ids=label_ids.to(device), past_key_values=cache,
                              attention_mask=torch.cat([mask[owner], label_mask], -1).to(device),
                              position_ids=label_positions.to(device), use_cache=False)
            rest = torch.log_softmax(label_out.logits.float(), -1)
        row_scores = {}
        for r, ((b, j), target) in enumerate(zip(rows, label_rows)):
            total = first[b, target[0]] + sum(rest[r, k - 1, token] for k, token in enumerate(target) if k)
            row_scores[b, j] = float(total)
        batch_scores = [[row_scores[b, j] for j in range(len(targets[i]))] for b, i in enumerate(batch)]
        if on_batch is not None:
            on_batch(batch, batch_scores)
        for i, example_scores in zip(batch, batch_scores):
            scores[i] = example_scores
    return scores


def softmax(values: list[float], temperature: float = 1.0) -> list[float]:
    peak = max(values)
    weights = [math.exp((v - peak) / temperature) for v in values]
    total = sum(weights)
    return [w / total for w in weights]


def fit_temperature(scores: list[list[float]], gold: list[int]) -> float:
    """The temperature minimising the negative log-likelihood of the gold labels (optimised in log space). Rows may
    have different numbers of labels: the missing ones weigh nothing (-inf)."""
    import torch

    width = max(len(row) for row in scores)
    logits = torch.tensor([row + [-math.inf] * (width - len(row)) for row in scores], dtype=torch.float64)
    targets = torch.tensor(gold)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp())


def predictions(examples: list[Example], scores: list[list[float]],
                temperature: float) -> list[ClassificationPrediction]:
    out = []
    for example, row in zip(examples, scores):
        labels = example.gold.labels
        probabilities = softmax(row, temperature)
        best = max(range(len(labels)), key=probabilities.__getitem__)
        out.append(ClassificationPrediction(id=example.id, label=labels[best], confidence=probabilities[best],
                                            scores=dict(zip(labels, probabilities))))
    return out


def gold_indices(examples: list[Example]) -> list[int]:
    """Each example's gold label as its position in the example's own label set."""
    return [e.gold.labels.index(e.gold.label) for e in examples]


def check_classification(examples: list[Example], path: str) -> None:
    if any(e.gold.task != "classification" for e in examples):
        raise DataError(path, None, "expected classification examples (predict-labels scores each example's labels; "
                                    "use `llmner predict` to generate)")


@click.command("predict-labels")
@MODEL
@DATA
@OUTPUT
@options.batch_size(32, help="Prompts per batch (each is run once, then copied for every label).")
@QUANTIZATION
@DTYPE
@CHAT_TEMPLATE
@click.option("--calibration-data", default=None,
              help="Held-out classification examples to fit the softmax temperature on (default: temperature 1).")
@EXAMPLES
@SHARD
def predict_labels(model, data, output, batch_size, quantization, dtype, chat_template, calibration_data, examples,
                   shard):
    """Classify every example of DATA with MODEL by the log-probability of each of its labels; each prediction
    carries its confidence and every label's probability."""
    records = examples_to_predict(data, output, examples, shard)
    check_classification(records, data)
    validation = read_examples(calibration_data) if calibration_data else None
    if validation:
        check_classification(validation, calibration_data)
    # a cut run's finished batches are kept and not scored again (prediction.partial)
    partial = PartialAnswers(output, run_settings(model, data, batch_size=batch_size, quantization=quantization,
                                                  dtype=dtype, chat_template=chat_template, examples=examples,
                                                  shard=shard, scoring="label log-probabilities"))
    todo = [example for example in records if example.id not in partial.answers]
    if partial.answers:
        click.echo(f"resuming: {len(records) - len(todo)} of {len(records)} examples were scored before the run was "
                   f"cut ({partial.path})", err=True)
    loaded, tokenizer = load_model(model, quantization, dtype)

    def scores_of(chosen, on_batch=None):
        prompts = training_prompts(tokenizer, chosen, chat_template, model)
        return label_logprobs(loaded, tokenizer, prompts, [e.gold.labels for e in chosen], batch_size, on_batch)

    temperature = fit_temperature(scores_of(validation), gold_indices(validation)) if validation else 1.0
    if todo:
        scores_of(todo, lambda batch, scores: partial.add([todo[i].id for i in batch], scores))
    scores = [partial.answers[example.id] for example in records]
    count = write_jsonl(output, (p.to_json() for p in predictions(records, scores, temperature)))
    partial.remove()
    click.echo(f"wrote {count} predictions to {output} (softmax temperature {temperature:.3f})", err=True)
