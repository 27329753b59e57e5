"""Classification by log-probability: every label's completion scored under the model, each prompt run once.

For each example and label, the score is the summed log-probability of the label's tokens and the end-of-turn token
after the exact training prefix (so a label that is the prefix of another does not win by stopping early). The
prediction is the arg-max; the confidence is the softmax over labels of score / T, with the temperature T fitted on a
validation split by minimising its negative log-likelihood (temperature scaling, Guo et al. 2017).

A multiple-choice question is answered the same way among its option letters, each scored by the letter's
log-probability alone (CMMLU's and MMLU's own protocol: a model that goes on to explain its letter is not marked down
for how it would have ended the turn).

    llmner predict-labels --model M --data data/zh_news/test.jsonl --output preds.jsonl \
        --calibration-data data/zh_news/validation.jsonl
"""

from __future__ import annotations

import math

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.io import write_jsonl
from llmner.core.schemas import ClassificationPrediction, Example, McqPrediction, read_examples
from llmner.core.tasks import MCQ_LETTERS
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
from llmner.prediction.prefix_cache import prefix_cache_for, prefixed_batch


def label_token_ids(tokenizer, labels: list[str], closed: bool = True) -> list[list[int]]:
    """Each label's completion: its tokens, then the end-of-turn token where the label is the whole answer."""
    end = [tokenizer.eos_token_id] if closed else []
    return [tokenizer(label, add_special_tokens=False)["input_ids"] + end for label in labels]


def candidate_labels(example: Example) -> list[str]:
    """What an example's answer is chosen among: a classification example's labels, a question's option letters.

    >>> from llmner.core.schemas import McqGold
    >>> question = McqGold(task="mcq", answer="B", options={"B": "Paris", "A": "Lyon"})
    >>> candidate_labels(Example(id="q", messages=[], gold=question))
    ['A', 'B']
    """
    gold = example.gold
    return gold.labels if gold.task == "classification" else sorted(gold.options or MCQ_LETTERS)


def answers_end_the_turn(examples: list[Example]) -> bool:
    """Whether a label is scored with the end-of-turn after it: a class name is the whole answer; an option letter is
    scored alone (see the module's docstring)."""
    return examples[0].gold.task == "classification" if examples else True


def label_tree(targets: list[list[int]]) -> tuple[list[int], list[int], list[int], list[int]]:
    """One example's candidate labels laid out to run side by side after its prompt, in one pass: the input tokens
    (each label's tokens, not its closing end-of-turn), the segment of each (1 + the label's index), its offset in
    its label, and the token it predicts.

    >>> label_tree([[5, 0], [6, 7, 0]])  # label 5, then label 6 7; 0 ends the turn
    ([5, 6, 7], [1, 2, 2], [0, 0, 1], [0, 7, 0])
    """
    inputs, segments, offsets, following = [], [], [], []
    for j, target in enumerate(targets):
        inputs += target[:-1]
        segments += [j + 1] * (len(target) - 1)
        offsets += range(len(target) - 1)
        following += target[1:]
    return inputs, segments, offsets, following


def tree_attention(segments):
    """Which of a batch's tokens each token sees ([batch, query, key]), given each token's segment: 0 the prompt, j
    the j-th candidate label, -1 padding. A token sees the prompt tokens before it and the earlier tokens of its own
    label, so every label is scored as if it alone followed the prompt; padding is seen by none (and sees itself).

    >>> import torch
    >>> tree_attention(torch.tensor([[-1, 0, 1, 2, 2]]))[0].int().tolist()
    [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 1, 1, 0, 0], [0, 1, 0, 1, 0], [0, 1, 0, 1, 1]]
    """
    import torch

    width = segments.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool).tril()
    query, key = segments[:, :, None], segments[:, None, :]
    return (causal & (key >= 0) & ((key == 0) | (key == query))) | torch.eye(width, dtype=torch.bool)


def label_logprobs(model, tokenizer, prompts: list[str], label_sets: list[list[str]],
                   prompts_per_batch: int = 16, on_batch=None, prefix_cache: bool = True,
                   closed: bool = True) -> list[list[float]]:
    """[example][label] summed log-probabilities of each of the example's own labels' completion (ending the turn
    where `closed`); `on_batch(indices, scores)` is called as each batch ends.

    One forward pass a batch: each row is its prompt followed by all of its candidate labels side by side, and an
    attention mask lets each label see the prompt and itself only (`tree_attention`), so each prompt is run once and
    no key/value cache is copied per label. The prompt all examples share (system prompt and chat frame) is run once
    for the whole call (prediction.prefix_cache; `prefix_cache=False` runs every row whole). Prompts are batched
    longest first, so that a batch pads little; the vocabulary's logits are computed from the prompt's last position
    on only. Examples may have different label sets (Fudan news gives each its own candidates)."""
    from tqdm import tqdm

    if model.config._attn_implementation not in ("sdpa", "eager"):  # the per-label mask is a custom 4D mask
        raise ValueError(f"label scoring needs sdpa or eager attention, not {model.config._attn_implementation}")
    prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    targets = [label_token_ids(tokenizer, labels, closed) for labels in label_sets]
    scores: list[list[float]] = [[] for _ in prompts]
    prefix = prefix_cache_for(model, prompt_ids, prefix_cache)
    for batch in tqdm(length_sorted_batches([len(ids) for ids in prompt_ids], prompts_per_batch),
                      desc="scoring labels", unit="batch"):
        batch_scores = score_batch(model, [prompt_ids[i] for i in batch], [targets[i] for i in batch], prefix,
                                   tokenizer.pad_token_id)
        if on_batch is not None:
            on_batch(batch, batch_scores)
        for i, example_scores in zip(batch, batch_scores):
            scores[i] = example_scores
    return scores


def right_padded(rows: list[list[int]], fill: int):
    import torch

    width = max(len(row) for row in rows)
    return torch.tensor([row + [fill] * (width - len(row)) for row in rows], dtype=torch.long)


def score_batch(model, prompt_ids: list[list[int]], targets: list[list[list[int]]], prefix,
                pad_id: int) -> list[list[float]]:
    """The summed log-probabilities of every row's candidate labels, in one pass (see `label_logprobs`)."""
    import torch

    shared = prefix.length if prefix else 0
    # [shared prefix | left padding | own tokens]: every prompt ends in the last column of its part
    ids, mask = prefixed_batch(prompt_ids, shared, pad_id)
    inputs, segments, offsets, following = zip(*(label_tree(example_targets) for example_targets in targets))
    labels = right_padded(list(inputs), pad_id)
    width = labels.shape[1]
    segments = torch.cat([mask[:, shared:] - 1, right_padded(list(segments), -1)], -1)  # prompt 0, padding -1
    positions = torch.cat([(mask.cumsum(-1) - 1).clamp(min=0)[:, shared:],
                           mask.sum(-1, keepdim=True) + right_padded(list(offsets), 0)], -1)
    rows, own = segments.shape
    sees = torch.cat([torch.ones(rows, own, shared, dtype=torch.bool), tree_attention(segments)], -1)
    device, dtype = model.device, model.dtype
    additive = torch.zeros(sees.shape, dtype=dtype).masked_fill(~sees, torch.finfo(dtype).min)[:, None]
    past = {"past_key_values": prefix.for_batch(rows)} if prefix else {}
    with torch.inference_mode():
        out = model(input_ids=torch.cat([ids[:, shared:], labels], -1).to(device), attention_mask=additive.to(device),
                    position_ids=positions.to(device), use_cache=False, logits_to_keep=width + 1, **past)
        logprobs = torch.log_softmax(out.logits.float(), -1)
        first = logprobs[:, 0].tolist()  # the prompt's last position predicts every label's first token
        rest = logprobs[:, 1:].gather(-1, right_padded(list(following), pad_id)[..., None].to(device))[..., 0].tolist()
    scores = []
    for row, example_targets in enumerate(targets):
        ends = [0]
        for target in example_targets:
            ends.append(ends[-1] + len(target) - 1)
        scores.append([first[row][target[0]] + sum(rest[row][ends[j]:ends[j + 1]])
                       for j, target in enumerate(example_targets)])
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
                temperature: float) -> list[ClassificationPrediction | McqPrediction]:
    """Each example's arg-max label: a classification one with its confidence and every label's probability at
    `temperature`, a question's letter as its `answer` (the contract's multiple-choice prediction has no confidence)."""
    out = []
    for example, row in zip(examples, scores):
        labels = candidate_labels(example)
        probabilities = softmax(row, temperature)
        best = max(range(len(labels)), key=probabilities.__getitem__)
        out.append(ClassificationPrediction(id=example.id, label=labels[best], confidence=probabilities[best],
                                            scores=dict(zip(labels, probabilities)))
                   if example.gold.task == "classification" else McqPrediction(id=example.id, answer=labels[best]))
    return out


def gold_indices(examples: list[Example]) -> list[int]:
    """Each example's gold label as its position in the example's own label set."""
    return [e.gold.labels.index(e.gold.label) for e in examples]


def check_classification(examples: list[Example], path: str) -> None:
    if any(e.gold.task != "classification" for e in examples):
        raise DataError(path, None, "expected classification examples (a temperature is fitted on labels' "
                                    "probabilities)")


def check_scorable(examples: list[Example], path: str) -> None:
    """One task, whose answer is one of a few candidates: classification or multiple choice."""
    tasks = {e.gold.task for e in examples}
    if not tasks <= {"classification", "mcq"} or len(tasks) > 1:
        raise DataError(path, None, "expected classification or multiple-choice examples, one task a file "
                                    "(predict-labels scores each example's candidate answers; use `llmner predict` "
                                    "to generate)")


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
    """Classify every example of DATA with MODEL by the log-probability of each of its labels (or answer each
    multiple-choice question by its option letters'); a classification prediction carries its confidence and every
    label's probability."""
    records = examples_to_predict(data, output, examples, shard)
    check_scorable(records, data)
    validation = read_examples(calibration_data) if calibration_data else None
    if validation:
        check_classification(validation, calibration_data)
        if records and records[0].gold.task == "mcq":
            raise DataError(calibration_data, None, "expected no --calibration-data for multiple-choice questions "
                                                    "(their predictions carry no confidence to calibrate)")
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
        return label_logprobs(loaded, tokenizer, prompts, [candidate_labels(e) for e in chosen], batch_size, on_batch,
                              closed=answers_end_the_turn(chosen))

    temperature = fit_temperature(scores_of(validation), gold_indices(validation)) if validation else 1.0
    if todo:
        scores_of(todo, lambda batch, scores: partial.add([todo[i].id for i in batch], scores))
    scores = [partial.answers[example.id] for example in records]
    count = write_jsonl(output, (p.to_json() for p in predictions(records, scores, temperature)))
    partial.remove()
    click.echo(f"wrote {count} predictions to {output} (softmax temperature {temperature:.3f})", err=True)
