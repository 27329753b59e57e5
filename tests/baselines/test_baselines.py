"""Baselines run on the local set-up and are scored by the shared evaluator (no metric code of their own)."""

from __future__ import annotations

import json

import pytest

from llmner.baselines import spacy_ner
from llmner.converters import conll
from llmner.core.io import write_jsonl
from llmner.core.schemas import Example
from llmner.core.tasks import ner_prompt
from tests.baselines.scoring import report_of
from tests.cli import llmner
from tests.constants import ROOT


def converted(source, dataset: str, first: int | None = None) -> list[dict]:
    """A CoNLL column file's examples, as the converter writes them."""
    return list(conll.convert_file(source, ner_prompt(dataset), "train"))[:first]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The shipped WNUT-17 sample: 250 sentences to train on, 50 to evaluate."""
    folder = tmp_path_factory.mktemp("sample")
    examples = converted(ROOT / "samples" / "wnut17" / "train_sample.conll", "wnut17")
    write_jsonl(folder / "train.jsonl", examples[:250])
    write_jsonl(folder / "dev.jsonl", examples[250:])
    return folder


def test_spacy_trains_predicts_and_is_scored_by_the_evaluator(sample, tmp_path):
    result = spacy_ner.train_model(sample / "train.jsonl", sample / "dev.jsonl", tmp_path / "model", max_epochs=3,
                                   eval_frequency=20)
    assert result["train"]["misaligned_entities"] == 0 and result["train"]["entities"] > 50
    outcome = llmner("baseline", "spacy", "predict", "--model", tmp_path / "model" / "model-last", "--data",
                     sample / "dev.jsonl", "--output", tmp_path / "p.jsonl")
    assert outcome.exit_code == 0, outcome.output
    predictions = [json.loads(line) for line in open(tmp_path / "p.jsonl")]
    assert len(predictions) == 50 and all("entities" in p for p in predictions)
    assert report_of(sample / "dev.jsonl", tmp_path / "p.jsonl")["examples"] == 50


def test_misaligned_spans_are_counted_not_dropped_silently(tmp_path):
    import spacy

    example = Example.model_validate({
        "id": "x/test/0", "messages": [], "gold": {"task": "ner", "text": "New Yorkshire firms", "labels": ["LOC"],
                                                   "entities": [{"start": 4, "end": 8, "label": "LOC"}]}})
    _, kept, misaligned = spacy_ner.docbin(spacy.blank("en"), [example])
    assert (kept, misaligned) == (0, 1)


def test_spacy_refuses_examples_that_are_not_ner_in_one_line(tmp_path):
    """A valid classification example is not NER: one line naming it before a folder is made, not a KeyError on
    `gold["text"]` from inside the DocBin."""
    from tests.records import jl

    data = tmp_path / "cls.jsonl"
    data.write_text(jl({"id": "ag_news/train/0", "messages": [{"role": "user", "content": "x"}],
                        "gold": {"task": "classification", "label": "World", "labels": ["World"]}}), encoding="utf-8")
    result = llmner("baseline", "spacy", "train", "--data", data, "--eval-data", data, "--out-dir", tmp_path / "out")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, (result.stderr, result.exception)
    assert result.stderr.startswith(f"error: {data}:1: expected NER examples; example 'ag_news/train/0' is "
                                    "classification")
    assert not (tmp_path / "out").exists()


def test_vectors_variant_says_what_it_needs(sample, tmp_path):
    result = llmner("baseline", "spacy", "train", "--data", sample / "train.jsonl", "--eval-data", sample / "dev.jsonl",
                    "--out-dir", tmp_path, "--variant", "lg")
    assert result.exit_code == 2 and "needs --vectors" in result.output


def test_spacy_refuses_a_fraction_of_an_epoch(sample, tmp_path):
    result = llmner("baseline", "spacy", "train", "--data", sample / "train.jsonl", "--eval-data", sample / "dev.jsonl",
                    "--out-dir", tmp_path / "out", "--epochs", "2.5")
    assert result.exit_code == 2 and "whole epochs" in result.output and not (tmp_path / "out").exists()


def tiny_encoder(folder, texts):
    """A 2-layer BERT with random weights and a WordPiece vocabulary trained on the fly."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    trainer = BertWordPieceTokenizer(lowercase=False)
    trainer.train_from_iterator(texts, vocab_size=800)
    folder.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(folder))
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=False)
    tokenizer.save_pretrained(folder)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=256)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.mark.training  # trains an encoder
def test_token_classifier_trains_predicts_and_is_scored(sample, tmp_path):
    from llmner.baselines import token_classifier

    texts = [json.loads(line)["gold"]["text"] for line in open(sample / "train.jsonl")]
    encoder = tiny_encoder(tmp_path / "encoder", texts)
    history = token_classifier.train_model(str(encoder), sample / "train.jsonl", sample / "dev.jsonl",
                                           tmp_path / "model", epochs=2, batch_size=16, learning_rate=1e-3)
    losses = [entry["loss"] for entry in history if "loss" in entry] or [history[-1]["train_loss"]]
    assert all(loss == loss for loss in losses)  # finite, no NaN
    predictions = list(token_classifier.predict_spans(str(tmp_path / "model"), sample / "dev.jsonl"))
    assert len(predictions) == 50
    path = tmp_path / "p.jsonl"
    write_jsonl(path, predictions)
    assert report_of(sample / "dev.jsonl", path)["examples"] == 50


def test_first_sub_token_labelling_and_decoding():
    from llmner.baselines.token_classifier import aligned_labels, spans_from_predictions

    label_ids = {"O": 0, "B-PER": 1, "I-PER": 2}
    # "Blackburn" split in two sub-tokens: only the first carries the label
    assert aligned_labels([None, 0, 1, 1, None], ["B-PER", "I-PER"], label_ids) == [-100, 1, 2, -100, -100]
    spans = spans_from_predictions(["Peter", "Blackburn", "said"], [None, 0, 1, 1, 2, None],
                                   ["O", "B-PER", "I-PER", "O", "O", "O"])
    assert spans == [{"start": 0, "end": 15, "label": "PER"}]


def test_crf_viterbi_always_yields_valid_bio():
    import torch

    from llmner.baselines.crf_model import build_crf
    from llmner.core.iob import bio_labels

    labels = bio_labels(["PER", "LOC"])
    crf = build_crf(labels)
    torch.manual_seed(0)
    emissions = torch.randn(64, 12, len(labels)) * 5  # strong, random emissions favour invalid moves often
    for path in crf.decode(emissions):
        tags = [labels[i] for i in path]
        for previous, tag in zip(["O"] + tags, tags):
            assert not tag.startswith("I-") or previous[2:] == tag[2:], tags


@pytest.mark.data
@pytest.mark.training
def test_crf_tagger_loss_falls_and_fits_real_sentences_above_chance(tmp_path):
    """A tiny random Llama backbone (frozen) with LoRA, head and CRF learns a few hundred real sentences."""
    import torch

    from llmner.baselines.crf_tagger import DEFAULTS, predict_spans, train_tagger
    from llmner.training.twin import build_model, build_tokenizer
    from tests.constants import SHARED_DATA

    source = SHARED_DATA / "conll2003" / "train.txt"
    if not source.exists():
        pytest.skip(f"real data not found at {source}")
    examples = tmp_path / "train.jsonl"
    records = converted(source, "conll2003", 300)
    write_jsonl(examples, records)
    texts = [record["gold"]["text"] for record in records]
    tokenizer = build_tokenizer(texts, "llama3", tmp_path / "backbone", vocab_size=1500)
    build_model("meta-llama/Llama-3.2-1B-Instruct", tokenizer, tmp_path / "backbone", hidden=128)
    config = {**DEFAULTS, "backbone": str(tmp_path / "backbone"), "train": str(examples),
              "output_dir": str(tmp_path / "tagger"), "epochs": 6, "batch_size": 16, "learning_rate": 3e-3,
              "head_learning_rate": 3e-2, "bf16": False}
    torch.set_num_threads(2)
    losses = train_tagger(config)
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:5]) / 5
    predictions = tmp_path / "p.jsonl"
    write_jsonl(predictions, predict_spans(config, tmp_path / "tagger", examples))
    report = report_of(examples, predictions)
    # chance: a tagger that guesses never finds a whole entity with its exact boundaries and label
    assert report["entity"]["micro"]["f1"] > 0.3


@pytest.fixture
def tiny_tagger(tmp_path):
    """A tagger config on 40 shipped WNUT-17 sentences and a tiny random Llama backbone: 2 epochs of 5 steps."""
    from llmner.baselines.crf_tagger import DEFAULTS
    from llmner.training.twin import build_model, build_tokenizer

    records = converted(ROOT / "samples" / "wnut17" / "train_sample.conll", "wnut17", 40)
    write_jsonl(tmp_path / "train.jsonl", records)
    tokenizer = build_tokenizer([r["gold"]["text"] for r in records], "llama3", tmp_path / "backbone", vocab_size=400)
    build_model("meta-llama/Llama-3.2-1B-Instruct", tokenizer, tmp_path / "backbone", hidden=32, layers=1)
    return {**DEFAULTS, "backbone": str(tmp_path / "backbone"), "train": str(tmp_path / "train.jsonl"),
            "output_dir": str(tmp_path / "whole"), "epochs": 2, "batch_size": 8, "save_steps": 3, "bf16": False}


def test_a_cut_crf_training_goes_on_from_its_checkpoint_and_ends_where_an_uncut_one_does(tiny_tagger, tmp_path,
                                                                                         monkeypatch):
    """Cut after its second checkpoint (step 6, inside the second epoch), the same call again trains only the steps
    left, and the losses, head, CRF and adapters are those of a run never cut; the checkpoint is gone at the end."""
    import torch

    from llmner.baselines import crf_tagger
    from llmner.baselines.crf_model import CrfTagger

    uncut = crf_tagger.train_tagger(tiny_tagger)
    config = tiny_tagger | {"output_dir": str(tmp_path / "cut")}
    saves, save = [], crf_tagger.save_checkpoint

    def save_then_cut(*args):
        save(*args)
        saves.append(len(args[4]))
        if len(saves) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(crf_tagger, "save_checkpoint", save_then_cut)
    with pytest.raises(KeyboardInterrupt):
        crf_tagger.train_tagger(config)
    assert saves == [3, 6] and (tmp_path / "cut" / "checkpoint.pt").exists()
    monkeypatch.setattr(crf_tagger, "save_checkpoint", save)
    steps, loss = [], CrfTagger.compound_loss
    monkeypatch.setattr(CrfTagger, "compound_loss", lambda *args: steps.append(1) or loss(*args))
    resumed = crf_tagger.train_tagger(config)
    assert len(steps) == 4 and len(resumed) == len(uncut) == 10
    assert resumed == pytest.approx(uncut, rel=1e-5)
    for name in ("head_crf.pt", "adapter_model.safetensors"):
        assert (tmp_path / "cut" / name).exists()
    first, second = (torch.load(tmp_path / run / "head_crf.pt") for run in ("whole", "cut"))
    for part in ("head", "crf"):
        for key, value in first[part].items():
            torch.testing.assert_close(second[part][key], value)
    from safetensors.torch import load_file
    adapters = [load_file(tmp_path / run / "adapter_model.safetensors") for run in ("whole", "cut")]
    for key, value in adapters[0].items():
        torch.testing.assert_close(adapters[1][key], value)
    assert not (tmp_path / "cut" / "checkpoint.pt").exists()
    assert json.loads((tmp_path / "cut" / "training.json").read_text())["steps"] == 10


def test_a_crf_checkpoint_of_another_config_is_refused_in_one_line(tiny_tagger, monkeypatch):
    """Going on from a checkpoint trained with another learning rate, or on a training file written again with other
    sentences, would mix two runs: refused, naming what differs; a changed `save_steps` alone does not change what is
    trained and resumes."""
    from llmner.baselines import crf_tagger
    from llmner.core.errors import DataError

    save = crf_tagger.save_checkpoint

    def save_then_cut(*args):
        save(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(crf_tagger, "save_checkpoint", save_then_cut)
    with pytest.raises(KeyboardInterrupt):
        crf_tagger.train_tagger(tiny_tagger)
    monkeypatch.setattr(crf_tagger, "save_checkpoint", save)
    checkpoint = f"{tiny_tagger['output_dir']}/checkpoint.pt"
    with pytest.raises(DataError, match=f"^{checkpoint}: expected a checkpoint of this config, but it was written "
                                        r"with other learning_rate \(delete it to start over\)$"):
        crf_tagger.train_tagger(tiny_tagger | {"learning_rate": 1e-3})
    train = tiny_tagger["train"]
    lines = open(train).readlines()
    with open(train, "w") as handle:  # the same file name, other sentences
        handle.writelines(lines[1:] + lines[:1])
    with pytest.raises(DataError, match="written with other train_sha256 "):
        crf_tagger.train_tagger(tiny_tagger)
    with open(train, "w") as handle:
        handle.writelines(lines)
    assert len(crf_tagger.train_tagger(tiny_tagger | {"save_steps": 4})) == 10


def test_every_baseline_runs_behind_llmner_baseline():
    result = llmner("baseline", "--help")
    assert result.exit_code == 0
    for command in ("spacy", "encoder", "crf", "api", "tfidf"):
        assert f"  {command} " in result.stdout


def test_crf_predict_names_a_malformed_labels_file(tmp_path):
    """The trained folder's labels.json, cut mid-write, is one line naming it (before any model is loaded)."""
    from tests.baselines.broken_inputs import NER

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "labels.json").write_text('["O", "B-PER"')
    write_jsonl(tmp_path / "data.jsonl", [NER])
    result = llmner("baseline", "crf", "predict", ROOT / "baselines/configs/smollm2_135m_lora_crf_conll.yml",
                    "--data", tmp_path / "data.jsonl", "--output", tmp_path / "p.jsonl", "--model", tmp_path / "model")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, (result.stderr, result.exception)
    assert result.stderr.startswith(f"error: {tmp_path / 'model' / 'labels.json'}:1: expected a JSON array")


def test_the_crf_tagger_refuses_training_examples_without_a_label_set(tmp_path):
    """A valid NER example may leave out `labels`; the tagger learns its tags from them, so training says so in one
    line instead of a KeyError (the encoder's row is in tests/llmner/test_bad_input.py)."""
    from llmner.baselines import crf_tagger
    from llmner.core.errors import DataError
    from tests.records import NER_EXAMPLE, jl

    data = tmp_path / "train.jsonl"
    tokenised = NER_EXAMPLE["gold"] | {"tokens": NER_EXAMPLE["gold"]["text"].split()}
    data.write_text(jl(NER_EXAMPLE | {"gold": tokenised}), encoding="utf-8")
    with pytest.raises(DataError, match="train.jsonl:1: expected tokenised NER examples with gold.labels"):
        crf_tagger.train_tagger({"seed": 0, "train": str(data), "max_examples": None})


@pytest.mark.data
def test_tfidf_learns_ag_news_topics_and_gives_calibrated_confidences(converted, tmp_path):
    """The classic classification baseline on real AG News: 2,000 items to train on, 600 others to classify; every
    prediction carries its own labels' probabilities, and the evaluator scores accuracy and ECE with intervals."""
    items = (converted / "ag_news" / "test.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "train.jsonl").write_text("".join(items[:2000]))
    (tmp_path / "test.jsonl").write_text("".join(items[2000:2600]))
    assert llmner("baseline", "tfidf", "train", "--data", tmp_path / "train.jsonl", "--out-dir",
                  tmp_path / "model").exit_code == 0
    result = llmner("baseline", "tfidf", "predict", "--model", tmp_path / "model", "--data", tmp_path / "test.jsonl",
                    "--output", tmp_path / "pred.jsonl")
    assert result.exit_code == 0, result.output
    first = json.loads((tmp_path / "pred.jsonl").read_text().splitlines()[0])
    assert set(first["scores"]) == {"World", "Sports", "Business", "Sci/Tech"}
    assert sum(first["scores"].values()) == pytest.approx(1.0) and first["confidence"] == max(first["scores"].values())
    assert llmner("score", "--data", tmp_path / "test.jsonl", "--pred", tmp_path / "pred.jsonl", "--json",
                  tmp_path / "report.json", "--resamples", "200").exit_code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["accuracy"] > 0.7 and 0 <= report["ece_ci"][0] <= report["ece"] <= report["ece_ci"][1]


def test_tfidf_refuses_ner_examples_and_a_folder_without_a_model_in_one_line(sample, tmp_path):
    result = llmner("baseline", "tfidf", "train", "--data", sample / "train.jsonl", "--out-dir", tmp_path / "m")
    assert result.exit_code == 2 and "expected classification examples" in result.output
    result = llmner("baseline", "tfidf", "predict", "--model", tmp_path, "--data", sample / "dev.jsonl", "--output",
                    tmp_path / "p.jsonl")
    assert result.exit_code == 2 and "expected a folder with model.joblib" in result.output
