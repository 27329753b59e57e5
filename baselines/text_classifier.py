"""The classic text-classification baseline: TF-IDF n-grams and logistic regression (scikit-learn), trained on the
same examples as the LLM and scored by the same evaluator, its class probabilities as the confidence (so ECE is
comparable).

    llmner baseline tfidf train --data data/zh_news/train.jsonl --out-dir outputs/tfidf_zh_news --analyzer char
    llmner baseline tfidf predict --model outputs/tfidf_zh_news --data data/zh_news/test.jsonl --output preds.jsonl
    llmner score --data data/zh_news/test.jsonl --pred preds.jsonl

`word` n-grams (1-2) suit English; `char` n-grams (1-3) suit Chinese, which has no spaces between words.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.io import check_writable, write_jsonl
from llmner.core.schemas import ClassificationGold, ClassificationPrediction, Example, read_examples

ANALYZERS = {"word": (1, 2), "char": (1, 3)}  # analyzer -> n-gram range
MODEL_FILE = "model.joblib"


def text_of(example: Example) -> str:
    """What the classifier reads: the user turns (the instruction in the system turn is the same for all).

    >>> text_of(Example.model_validate({"id": 0, "messages": [{"role": "system", "content": "Classify."},
    ...     {"role": "user", "content": "Stocks rally"}], "gold": {"task": "classification", "label": "Business",
    ...     "labels": ["World", "Business"]}}))
    'Stocks rally'
    """
    return "\n".join(turn.content for turn in example.messages if turn.role == "user")


def classification_examples(path: str | Path) -> list[Example]:
    examples = read_examples(path)
    for example in examples:
        if not isinstance(example.gold, ClassificationGold):
            raise DataError(path, None, f"expected classification examples; {example.id!r} has task "
                                        f"{example.gold.task!r}")
    return examples


def train_model(data: str | Path, out_dir: str | Path, analyzer: str = "word", seed: int = 42) -> dict:
    """Fit TF-IDF + logistic regression on `data`; the pipeline goes to OUT_DIR/model.joblib."""
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    examples = classification_examples(data)
    labels = {example.gold.label for example in examples}
    if len(labels) < 2:
        raise DataError(data, None, f"expected examples of at least two labels to learn from, got {sorted(labels)}")
    out = Path(out_dir)
    check_writable(out / MODEL_FILE)
    started = time.time()
    pipeline = make_pipeline(TfidfVectorizer(analyzer=analyzer, ngram_range=ANALYZERS[analyzer], sublinear_tf=True),
                             LogisticRegression(max_iter=1000, random_state=seed))
    pipeline.fit([text_of(e) for e in examples], [e.gold.label for e in examples])
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, out / MODEL_FILE)
    return {"examples": len(examples), "labels": len(labels), "seconds": round(time.time() - started, 1)}


def predictions(pipeline, examples: list[Example]) -> list[ClassificationPrediction]:
    """Each example's most probable label among its own labels, probabilities renormalised over them (a label the
    model never saw in training gets probability 0)."""
    classes = list(pipeline.classes_)
    probabilities = pipeline.predict_proba([text_of(e) for e in examples])
    out = []
    for example, row in zip(examples, probabilities):
        own = {label: float(row[classes.index(label)]) if label in classes else 0.0 for label in example.gold.labels}
        total = sum(own.values()) or 1.0
        scores = {label: value / total for label, value in own.items()}
        best = max(scores, key=scores.get)
        out.append(ClassificationPrediction(id=example.id, label=best, confidence=scores[best], scores=scores))
    return out


@click.group()
def main():
    """TF-IDF + logistic regression text classifier (train, predict)."""


@main.command()
@options.data(help="Training examples JSONL (classification).")
@options.out_dir("Folder for the fitted pipeline (model.joblib).")
@click.option("--analyzer", type=click.Choice(sorted(ANALYZERS)), default="word", show_default=True,
              help="word n-grams (1-2, English) or char n-grams (1-3, Chinese).")
@options.seed()
def train(data, out_dir, analyzer, seed):
    """Fit TF-IDF + logistic regression on DATA; the pipeline goes to OUT_DIR/model.joblib."""
    click.echo(json.dumps(train_model(data, out_dir, analyzer, seed)))


@main.command()
@options.model(help="Folder written by `llmner baseline tfidf train`.")
@options.data(help="Examples JSONL to classify.")
@options.output("Predictions JSONL to write.")
def predict(model, data, output):
    """Classify DATA with a fitted pipeline: each example's most probable own label, with every label's probability."""
    import joblib

    path = Path(model) / MODEL_FILE
    if not path.is_file():
        raise DataError(model, None, f"expected a folder with {MODEL_FILE} (`llmner baseline tfidf train` writes it)")
    check_writable(output)
    count = write_jsonl(output, predictions(joblib.load(path), classification_examples(data)))
    click.echo(f"wrote {count} predictions to {output}", err=True)
