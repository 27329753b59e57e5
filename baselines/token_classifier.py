"""Encoder token classification (BERT, ELECTRA, NuNER or any encoder id) with transformers' Trainer.

    llmner baseline encoder train --model google/electra-base-discriminator \
        --data data/conll2003/train.jsonl --eval-data data/conll2003/validation.jsonl --out-dir outputs/electra_conll
    llmner baseline encoder predict --model outputs/electra_conll --data data/conll2003/test.jsonl \
        --output preds.jsonl

Labels are IOB2 over the gold tokens; only each word's first sub-token carries a label (the rest are -100), and
predictions are read from first sub-tokens, decoded strictly (a stray I- starts nothing) into character spans.
"""

from __future__ import annotations

import click

from llmner.core import options
from llmner.core.examples import ner_examples
from llmner.core.io import check_writable, write_jsonl
from llmner.core.iob import bio_labels, entities_from_tagger, entities_to_tags
from llmner.core.schemas import Example, NerPrediction


def aligned_labels(word_ids: list[int | None], tags: list[str], label_ids: dict[str, int]) -> list[int]:
    """The word's tag on its first sub-token, -100 on the others and on special tokens."""
    labels, previous = [], None
    for word in word_ids:
        labels.append(-100 if word is None or word == previous else label_ids[tags[word]])
        previous = word
    return labels


def load_tokenizer(model: str):
    """RoBERTa-family tokenizers (NuNER is one) read pre-split words only with add_prefix_space; others ignore it."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model, add_prefix_space=True)


def encode(tokenizer, examples: list[Example], label_ids: dict[str, int] | None, max_length: int = 256):
    encoded = tokenizer([e.gold.tokens for e in examples], is_split_into_words=True, truncation=True,
                        max_length=max_length)
    if label_ids is not None:
        encoded["labels"] = [
            aligned_labels(encoded.word_ids(i), entities_to_tags(e.gold.tokens, [x.entity for x in e.gold.entities]),
                           label_ids) for i, e in enumerate(examples)]
    return encoded


def spans_from_predictions(tokens: list[str], word_ids: list[int | None], predicted: list[str]) -> list[dict]:
    """First sub-token predictions -> word tags (words cut off by truncation are O) -> character spans."""
    tags, previous = ["O"] * len(tokens), None
    for position, word in enumerate(word_ids):
        if word is not None and word != previous:
            tags[word] = predicted[position]
        previous = word
    # Tokenised sources' text is the tokens joined by single spaces, the offsets entities_from_tagger counts in.
    return [e._asdict() for e in entities_from_tagger(tokens, tags)]


@click.group()
def main():
    """Encoder token-classification baseline (train, predict)."""


@main.command()
@options.model("Encoder id or folder (bert-base-cased, numind/NuNER-v2.0, ...).")
@options.data("Training examples JSONL (tokenised NER).")
@options.eval_data("Validation examples JSONL, scored after each epoch.")
@options.out_dir("Folder for the trained model.")
@options.epochs(3.0)
@options.batch_size(32)
@options.learning_rate(5e-5)
@options.max_steps(None, "Optimizer steps [default: as many as --epochs take].")
def train(model, data, eval_data, out_dir, epochs, batch_size, learning_rate, max_steps):
    """Fine-tune an encoder for token classification."""
    train_model(model, data, eval_data, out_dir, epochs, batch_size, learning_rate, max_steps or -1)


def train_model(model, train_path, dev_path, out, epochs=3.0, batch_size=32, learning_rate=5e-5, max_steps=-1):
    # bad data is found before a model library is imported or a model loaded
    train_examples, dev_examples = (ner_examples(train_path, tokenised=True, labelled=True),
                                    ner_examples(dev_path, tokenised=True))

    from datasets import Dataset
    from transformers import (
        AutoModelForTokenClassification,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
    )

    labels = bio_labels(train_examples[0].gold.labels)
    label_ids = {label: i for i, label in enumerate(labels)}
    tokenizer = load_tokenizer(model)
    network = AutoModelForTokenClassification.from_pretrained(
        model, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label_ids)
    train_set = Dataset.from_dict(dict(encode(tokenizer, train_examples, label_ids)))
    dev_set = Dataset.from_dict(dict(encode(tokenizer, dev_examples, label_ids)))
    args = TrainingArguments(output_dir=str(out), num_train_epochs=epochs, max_steps=max_steps,
                             per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size,
                             learning_rate=learning_rate, warmup_steps=0.1, weight_decay=0.01, eval_strategy="epoch",
                             save_strategy="no", logging_steps=50, report_to=[], seed=42, bf16=bf16_available())
    trainer = Trainer(model=network, args=args, train_dataset=train_set, eval_dataset=dev_set,
                      data_collator=DataCollatorForTokenClassification(tokenizer), processing_class=tokenizer)
    trainer.train()
    trainer.save_model(out)
    return trainer.state.log_history


def bf16_available() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


@main.command()
@options.model("A folder written by `train`.")
@options.data()
@options.output("Predictions JSONL (spans).")
@options.batch_size(64)
def predict(model, data, output, batch_size):
    """Predict entity spans for every example."""
    check_writable(output)
    count = write_jsonl(output, predict_spans(model, data, batch_size))
    click.echo(f"wrote {count} predictions to {output}", err=True)


def predict_spans(model, data, batch_size=64):
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForTokenClassification

    examples = ner_examples(data, tokenised=True)  # bad data is found before a model is loaded
    tokenizer = load_tokenizer(model)
    network = AutoModelForTokenClassification.from_pretrained(model).eval()
    labels = network.config.id2label
    for start in tqdm(range(0, len(examples), batch_size), desc="tagging", unit="batch"):
        batch = examples[start:start + batch_size]
        encoded = encode(tokenizer, batch, None)
        inputs = tokenizer.pad({"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]},
                               return_tensors="pt")
        with torch.inference_mode():
            best = network(**inputs).logits.argmax(-1).tolist()
        for i, example in enumerate(batch):
            predicted = [labels[label] for label in best[i]]
            yield NerPrediction(id=example.id,
                                entities=spans_from_predictions(example.gold.tokens, encoded.word_ids(i), predicted))

