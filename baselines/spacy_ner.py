"""spaCy NER baseline: examples -> DocBins -> `spacy train` from spaCy's own generated config -> span predictions.

    llmner baseline spacy train --data data/conll2003/train.jsonl --eval-data data/conll2003/validation.jsonl \
        --out-dir outputs/spacy_conll --variant sm
    llmner baseline spacy predict --model outputs/spacy_conll/model-best --data data/conll2003/test.jsonl \
        --output preds.jsonl
    llmner score --data data/conll2003/test.jsonl --pred preds.jsonl

Variants in the spirit of spaCy's packages: `sm` (CPU-efficient CNN tok2vec, no vectors), `md`/`lg` (spaCy's
accuracy config with static vectors: pass `--vectors en_core_web_md` or `_lg`, installed by the user), `trf` (a
transformer, needs spacy-transformers and its weights). Docs are built from the gold tokens where the source is
tokenised, so entity spans align by construction; spans that do not align to spaCy tokens (untokenised text) are
counted and reported, never silently dropped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.examples import ner_examples
from llmner.core.io import check_writable, write_jsonl
from llmner.core.prompt_record import dataset_of
from llmner.core.schemas import Example, NerGold, NerPrediction
from llmner.core.spans import token_offsets
from llmner.evaluators.data import load_gold, load_predictions
from llmner.evaluators.score import build_report

LANGUAGES = {"zh_ner": "zh"}  # everything else here is English


def language_of(example_id) -> str:
    return LANGUAGES.get(dataset_of(example_id), "en")


def make_doc(nlp, gold: NerGold):
    """The gold tokens as a Doc (spaces from the text), or spaCy's own tokenisation of an untokenised text."""
    from spacy.tokens import Doc

    if not gold.tokens:
        return nlp.make_doc(gold.text)
    spaces = [gold.text[end:end + 1] == " " for _, end in token_offsets(gold.text, gold.tokens)]
    return Doc(nlp.vocab, words=gold.tokens, spaces=spaces)


def docbin(nlp, examples: list[Example]) -> tuple[object, int, int]:
    """(DocBin, entities kept, entities that do not align to tokens)."""
    from spacy.tokens import DocBin

    bin_, kept, misaligned = DocBin(), 0, 0
    for example in examples:
        gold = example.gold
        doc = make_doc(nlp, gold)
        spans = [doc.char_span(e.start, e.end, label=e.label) for e in gold.entities]
        misaligned += sum(span is None for span in spans)
        doc.ents = [span for span in spans if span is not None]
        kept += len(doc.ents)
        bin_.add(doc)
    return bin_, kept, misaligned


def write_config(path: Path, lang: str, variant: str, vectors: str | None) -> None:
    from spacy.cli.init_config import init_config

    config = init_config(lang=lang, pipeline=["ner"], optimize="efficiency" if variant == "sm" else "accuracy",
                         gpu=variant == "trf")
    if vectors:
        config["initialize"]["vectors"] = vectors
        config["paths"]["vectors"] = vectors
    config.to_disk(path)


@click.group()
def main():
    """spaCy NER baseline (train, predict, bench)."""


def whole_epochs(epochs: float) -> int:
    """spaCy trains whole epochs only: a fraction is refused rather than rounded away."""
    if epochs != int(epochs):
        raise click.BadParameter(f"spaCy trains whole epochs, not {epochs}", param_hint="--epochs")
    return int(epochs)


@main.command()
@options.data("Training examples JSONL.")
@options.eval_data("Validation examples JSONL (spaCy keeps the best model on it).")
@options.out_dir("Output folder (config, DocBins, model-best, model-last).")
@click.option("--variant", type=click.Choice(["sm", "md", "lg", "trf"]), default="sm", show_default=True,
              help="sm: CPU-efficient CNN, no vectors; md/lg: with static vectors (--vectors); trf: a transformer.")
@click.option("--vectors", default=None, help="Static vectors package or path (md/lg variants).")
@options.epochs(10, "Passes over the training data (whole ones).")
@click.option("--eval-frequency", default=1000, show_default=True, help="Steps between dev evaluations.")
@options.seed()
def train(data, eval_data, out_dir, variant, vectors, epochs, eval_frequency, seed):
    """Train spaCy's NER on converter examples."""
    click.echo(json.dumps(train_model(data, eval_data, out_dir, variant, vectors, whole_epochs(epochs), seed,
                                      eval_frequency)))


def train_model(train_path, dev_path, out, variant="sm", vectors=None, max_epochs=10, seed=42,
                eval_frequency=1000) -> dict:
    import spacy
    from spacy.cli.train import train as spacy_train

    if variant in ("md", "lg") and not vectors:
        raise DataError(train_path, None, f"the {variant} variant needs --vectors (e.g. en_core_web_{variant})")
    # bad data is found before a folder is made
    examples = {"train": ner_examples(train_path), "dev": ner_examples(dev_path)}
    lang = language_of(examples["train"][0].id)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    nlp = spacy.blank(lang)
    counts = {}
    for name, path in (("train", train_path), ("dev", dev_path)):
        bin_, kept, misaligned = docbin(nlp, examples[name])
        bin_.to_disk(out / f"{name}.spacy")
        counts[name] = {"entities": kept, "misaligned_entities": misaligned}
        if misaligned:
            click.echo(f"{path}: {misaligned} entities do not align to spaCy tokens and are left out of training",
                       err=True)
    write_config(out / "config.cfg", lang, variant, vectors)
    start = time.perf_counter()
    spacy_train(out / "config.cfg", out, overrides={
        "paths.train": str(out / "train.spacy"), "paths.dev": str(out / "dev.spacy"),
        "training.max_epochs": max_epochs, "training.eval_frequency": eval_frequency, "training.seed": seed,
        "system.seed": seed})
    return {"seconds": round(time.perf_counter() - start, 1), "variant": variant, **counts}


@main.command()
@options.model("A trained spaCy pipeline folder (model-best).")
@options.data()
@options.output("Predictions JSONL (spans).")
def predict(model, data, output):
    """Predict entity spans for every example."""
    check_writable(output)
    count = write_jsonl(output, predict_spans(model, data))
    click.echo(f"wrote {count} predictions to {output}", err=True)


def predict_spans(model, data):
    import spacy
    from tqdm import tqdm

    examples = ner_examples(data)  # bad data is found before a model is loaded
    nlp = spacy.load(model)
    docs = (make_doc(nlp, example.gold) for example in examples)
    for example, doc in zip(examples, tqdm(nlp.pipe(docs, batch_size=256), total=len(examples), desc="spaCy")):
        yield NerPrediction(id=example.id, entities=[{"start": e.start_char, "end": e.end_char, "label": e.label_}
                                                     for e in doc.ents])


@main.command()
@options.examples_dir(help="Converted examples, DIR/<dataset>/{train,validation,test}.jsonl (what `make data` "
                           "writes).")
@options.out_dir("A folder per dataset: model, predictions.jsonl, report.json.", default="outputs/baselines")
@options.dataset(default=("conll2003", "gmb"))
@options.epochs(10, "Passes over the training data (whole ones).")
def bench(examples_dir, out_dir, datasets, epochs):
    """Train the sm variant on each dataset's train split, predict its test split, score it with the evaluator."""
    max_epochs = whole_epochs(epochs)
    for dataset in datasets:
        folder, data = Path(out_dir) / f"spacy_{dataset}", Path(examples_dir) / dataset
        trained = train_model(data / "train.jsonl", data / "validation.jsonl", folder, max_epochs=max_epochs)
        # model-best exists once an evaluation was due; the last model otherwise
        model = folder / ("model-best" if (folder / "model-best").exists() else "model-last")
        start = time.perf_counter()
        write_jsonl(folder / "predictions.jsonl", predict_spans(model, data / "test.jsonl"))
        predict_seconds = time.perf_counter() - start
        gold = load_gold(data / "test.jsonl")
        report = build_report(gold, load_predictions(folder / "predictions.jsonl", gold),
                              pred=str(folder / "predictions.jsonl"))
        (folder / "report.json").write_text(json.dumps(report.to_json(), indent=1))
        micro = report.entity.micro
        click.echo(f"{dataset}: strict entity F1 {micro.f1:.4f} (P {micro.precision:.4f}, R "
                   f"{micro.recall:.4f}) on {report.examples} test sentences; training {trained['seconds']} s "
                   f"({max_epochs} epochs), prediction {predict_seconds:.1f} s")

