"""Log-probability classification: the scores are the model's own sequence log-probabilities, temperature scaling
lowers the validation NLL, and the predictions carry confidences the evaluator calibrates."""

from __future__ import annotations

import json
import math

import pytest

from llmner.converters.classification import classification_example
from llmner.converters.mcq import mcq_example
from llmner.core.schemas import Example
from llmner.prediction import label_scores
from tests.cli import llmner

LABELS = ["finance", "realty", "sports"]


def test_softmax_and_predictions():
    assert label_scores.softmax([0.0, 0.0]) == [0.5, 0.5]
    assert label_scores.softmax([2.0, 0.0], temperature=2.0)[0] == pytest.approx(1 / (1 + math.exp(-1)))
    example = Example.model_validate(classification_example("a", "t", "realty", tuple(LABELS)))
    (prediction,) = label_scores.predictions([example], [[-1.0, -3.0, -2.0]], 1.0)
    assert prediction.label == "finance" and prediction.confidence == max(prediction.scores.values())


def test_temperature_scaling_lowers_validation_nll():
    # over-confident scores: right 60% of the time with huge margins
    scores = [[0.0, -20.0, -20.0] if i % 5 < 3 else [0.0, -20.0, -20.0] for i in range(50)]
    gold = [0 if i % 5 < 3 else 1 for i in range(50)]
    temperature = label_scores.fit_temperature(scores, gold)

    def nll(t):
        return -sum(math.log(label_scores.softmax(s, t)[g]) for s, g in zip(scores, gold)) / len(gold)

    assert temperature > 1.0 and nll(temperature) < nll(1.0)


QUESTIONS = [mcq_example(f"cmmlu/test/q-{i}", f"问题 {i}", {"A": "甲", "B": "乙", "C": "丙", "D": "丁"}, "ABCD"[i % 4],
                         str(i)) for i in range(8)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from llmner.prediction.predict import use_chat_template
    from llmner.training.twin import build_model, build_tokenizer

    folder = tmp_path_factory.mktemp("tiny")
    examples = [classification_example(f"zh_news/test/{i}", f"标题 {i} 新闻", LABELS[i % 3], tuple(LABELS))
                for i in range(12)]
    texts = [t["content"] for e in [*examples, *QUESTIONS] for t in e["messages"]]
    tokenizer = build_tokenizer(texts, "qwen_25", folder, 400)
    use_chat_template(tokenizer, "qwen_25")
    tokenizer.save_pretrained(folder)
    build_model("Qwen/Qwen2.5-1.5B-Instruct", tokenizer, folder)
    path = folder / "examples.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples))
    return folder, path, examples


@pytest.mark.parametrize("prefix_cache", [True, False])
def test_scores_are_the_models_sequence_log_probabilities(tiny, prefix_cache):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmner.prediction.predict import prompt_messages, training_prefix

    folder, _, examples = tiny
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    prompts = [training_prefix(tokenizer, prompt_messages(Example.model_validate(e))) for e in examples[:3]]
    label_sets = [LABELS, ["sports", "realty"], ["finance"]]  # each example its own candidates (Fudan news)
    batched = label_scores.label_logprobs(model, tokenizer, prompts, label_sets, prompts_per_batch=2,
                                          prefix_cache=prefix_cache)
    assert [len(row) for row in batched] == [3, 2, 1]
    for prompt, row, labels in zip(prompts, batched, label_sets):
        for label, score in zip(labels, row):  # one unpadded sequence at a time, by the chain rule
            ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            target = tokenizer(label, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            with torch.inference_mode():
                logits = model(input_ids=torch.tensor([ids + target])).logits[0].float()
            direct = sum(torch.log_softmax(logits[len(ids) - 1 + k], -1)[t].item() for k, t in enumerate(target))
            assert score == pytest.approx(direct, abs=1e-4)


def test_predict_labels_and_the_evaluator(tiny, tmp_path):
    folder, path, _ = tiny
    result = llmner("predict-labels", "--model", folder, "--data", path, "--output", tmp_path / "p.jsonl",
                    "--calibration-data", path)
    assert result.exit_code == 0, result.output
    predictions = [json.loads(line) for line in open(tmp_path / "p.jsonl")]
    assert len(predictions) == 12 and all(abs(sum(p["scores"].values()) - 1) < 1e-9 for p in predictions)
    scored = llmner("score", "--data", path, "--pred", tmp_path / "p.jsonl", "--json", tmp_path / "r.json",
                    "--reliability-png", tmp_path / "r.png")
    report = json.loads((tmp_path / "r.json").read_text())
    assert scored.exit_code == 0 and report["calibration"]["examples"] == 12 and (tmp_path / "r.png").exists()


def test_each_example_is_scored_against_its_own_label_set(tiny, tmp_path):
    """Fudan news gives every example its own candidates; the first example's set must not be used for all."""
    folder, _, examples = tiny
    own = [classification_example(f"fudan_news/test/{i}", f"标题 {i} 新闻", labels[0], tuple(labels))
           for i, labels in enumerate([["finance", "realty"], ["sports", "realty", "finance"]])]
    path = tmp_path / "own.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in own))
    result = llmner("predict-labels", "--model", folder, "--data", path, "--output", tmp_path / "p.jsonl")
    assert result.exit_code == 0, result.output
    predictions = [json.loads(line) for line in open(tmp_path / "p.jsonl")]
    assert [sorted(p["scores"]) for p in predictions] == [["finance", "realty"], ["finance", "realty", "sports"]]


@pytest.mark.parametrize("option", ["--backend", "--max-new-tokens", "--constrained", "--gpus", "--tensor-parallel"])
def test_predict_labels_takes_no_generation_option(option, tmp_path):
    """`--score-labels` once silently ignored these five; as a command of its own, it refuses them."""
    result = llmner("predict-labels", "--model", "m", "--data", tmp_path / "d.jsonl", "--output",
                    tmp_path / "p.jsonl", option, "1")
    assert result.exit_code == 2 and f"No such option '{option}'" in result.output


def test_predict_labels_refuses_examples_it_cannot_classify(tmp_path):
    ner = {"id": "d/test/0", "messages": [{"role": "user", "content": "a"}],
           "gold": {"task": "ner", "text": "a", "entities": []}}
    (tmp_path / "ner.jsonl").write_text(json.dumps(ner) + "\n")
    result = llmner("predict-labels", "--model", tmp_path / "no-model", "--data", tmp_path / "ner.jsonl",
                    "--output", tmp_path / "p.jsonl")
    assert result.exit_code == 2 and "ner.jsonl: expected classification or multiple-choice examples" in result.stderr


def test_a_question_is_answered_by_its_most_probable_letter_alone(tiny, tmp_path):
    """CMMLU's protocol: each option letter scored as the answer's first token, with no end-of-turn after it (an
    untouched model that goes on to explain its letter is read by the letter it starts with); the answer is the
    contract's multiple-choice prediction, which `llmner score` reads and writes submission.csv from."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmner.prediction.predict import prompt_messages, training_prefix

    folder, _, _ = tiny
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS))
    result = llmner("predict-labels", "--model", folder, "--data", path, "--output", tmp_path / "p.jsonl",
                    "--batch-size", "3")
    assert result.exit_code == 0, result.output
    predictions = [json.loads(line) for line in open(tmp_path / "p.jsonl")]
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    for question, prediction in zip(QUESTIONS, predictions):
        ids = tokenizer(training_prefix(tokenizer, prompt_messages(Example.model_validate(question))),
                        add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            last = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0, -1].float(), -1)
        letters = [tokenizer("ABCD"[k], add_special_tokens=False)["input_ids"] for k in range(4)]
        assert all(len(letter) == 1 for letter in letters)
        assert prediction == {"id": question["id"], "answer": "ABCD"[max(range(4), key=lambda k: last[letters[k][0]])]}
    scored = llmner("score", "--data", path, "--pred", tmp_path / "p.jsonl", "--json", tmp_path / "r.json",
                    "--submission", tmp_path / "submission.csv")
    assert scored.exit_code == 0, scored.output
    assert json.loads((tmp_path / "r.json").read_text())["examples"] == 8
    assert len((tmp_path / "submission.csv").read_text().splitlines()) == 9


def test_questions_take_no_calibration_data(tiny, tmp_path):
    folder, path, _ = tiny
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS))
    result = llmner("predict-labels", "--model", folder, "--data", questions, "--output", tmp_path / "p.jsonl",
                    "--calibration-data", path)
    assert result.exit_code == 2 and "expected no --calibration-data for multiple-choice questions" in result.stderr


class CutAfter:
    """The model, but the batch past `batches` raises at its start, as a run killed mid-way stops (a batch starts with
    its prompts' pass, the one call that keeps the last position's logits only)."""

    def __init__(self, model, batches: int | None = None):
        self.model, self.batches, self.started = model, batches, 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def __call__(self, **kwargs):
        self.started += "logits_to_keep" in kwargs
        if self.batches is not None and self.started > self.batches:
            raise KeyboardInterrupt
        return self.model(**kwargs)


def test_a_cut_label_scoring_resumes_and_pays_only_for_the_rest(tiny, tmp_path, monkeypatch):
    """predict-labels keeps each finished batch's label log-probabilities in OUTPUT.partial: run again after a cut,
    it scores only the examples without them, and writes the same predictions an uncut run writes."""
    from llmner.prediction import predict

    folder, path, _ = tiny
    uncut, output = tmp_path / "uncut.jsonl", tmp_path / "p.jsonl"
    command = ("predict-labels", "--model", folder, "--data", path, "--batch-size", "4", "--output")
    assert llmner(*command, uncut).exit_code == 0
    models = [1, None]  # the first run is cut after its first batch

    def load(*args, **kwargs):
        model, tokenizer = predict.load_model(*args, **kwargs)
        models[0] = CutAfter(model, models[0])
        return models.pop(0), tokenizer

    monkeypatch.setattr(label_scores, "load_model", load)
    assert llmner(*command, output).exit_code != 0 and not output.exists()
    models.insert(0, None)
    resumed = llmner(*command, output)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming: 4 of 12 examples" in resumed.stderr
    assert output.read_text() == uncut.read_text() and not (tmp_path / "p.jsonl.partial").exists()


def test_the_shared_prompt_is_scored_once_and_each_batch_in_one_pass(tiny):
    """Every example shares the system prompt and chat frame (zh_news: 49 of 93 tokens): its keys and values are
    computed once per run; then each batch is one pass over its rows' own tokens followed by every candidate label's
    tokens side by side (the scores stay the model's own: the test above runs through the same path)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmner.prediction.predict import prompt_messages, training_prefix
    from llmner.prediction.prefix_cache import shared_prefix_length

    folder, _, examples = tiny
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    prompts = [training_prefix(tokenizer, prompt_messages(Example.model_validate(e))) for e in examples[:4]]
    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    shared = shared_prefix_length(ids)
    label_tokens = sum(len(tokenizer(label, add_special_tokens=False)["input_ids"]) for label in LABELS)
    widths = []
    model.model.layers[0].register_forward_hook(lambda module, args, output: widths.append(tuple(args[0].shape[:2])))
    label_scores.label_logprobs(model, tokenizer, prompts, [LABELS] * 4, prompts_per_batch=4)
    assert shared >= 8 and widths == [(1, shared), (4, max(map(len, ids)) - shared + label_tokens)]


def test_an_attention_that_takes_no_custom_mask_is_refused_in_one_line():
    """The labels side by side need a custom 4D attention mask, which flash attention ignores: refused, not wrong."""
    from types import SimpleNamespace

    model = SimpleNamespace(config=SimpleNamespace(_attn_implementation="flash_attention_2"))
    with pytest.raises(ValueError, match="needs sdpa or eager attention, not flash_attention_2"):
        label_scores.label_logprobs(model, None, ["prompt"], [LABELS])
