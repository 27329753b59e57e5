"""Prediction's prompt is exactly the prefix the model was trained on, for every template the recipes use."""

from __future__ import annotations

import json
import sys

import pytest

from llmner.core.schemas import Example
from llmner.core.tasks import ner_prompt
from llmner.prediction.predict import PINNED_DATE, length_sorted_batches, training_prefix, use_chat_template
from llmner.training.twin import TEMPLATE_TOKENS, build_tokenizer
from tests.cli import llmner

MESSAGES = ner_prompt("conll2003").messages("Peter Blackburn", "PER: Peter Blackburn")


@pytest.fixture(scope="module", params=sorted(TEMPLATE_TOKENS))
def tokenizer(request, tmp_path_factory):
    built = build_tokenizer([m["content"] for m in MESSAGES], request.param, tmp_path_factory.mktemp(request.param),
                            vocab_size=300)
    use_chat_template(built, request.param)
    return built


def test_prompt_is_the_training_text_up_to_the_answer(tokenizer):
    full = tokenizer.apply_chat_template(MESSAGES, tokenize=False)
    prompt = training_prefix(tokenizer, MESSAGES[:2])
    assert full.startswith(prompt) and full[len(prompt):].startswith("PER: Peter Blackburn")
    assert "<think>" not in prompt


def test_generation_prompt_of_the_templates_agrees_with_training(tokenizer):
    """Axolotl's templates open the assistant turn exactly as training renders it (no reasoning opener)."""
    generation = tokenizer.apply_chat_template(MESSAGES[:2], tokenize=False, add_generation_prompt=True)
    assert generation == training_prefix(tokenizer, MESSAGES[:2])


def test_date_in_a_template_is_pinned(tokenizer):
    tokenizer.chat_template = ("{{ 'Today Date: ' + "
                               "(date_string if date_string is defined else strftime_now('%d %b %Y')) }}"
                               "{% for m in messages %}{{ m['content'] }}|{% endfor %}")
    assert training_prefix(tokenizer, MESSAGES[:2]).startswith(f"Today Date: {PINNED_DATE}")


def test_a_model_without_template_is_refused(tokenizer):
    from llmner.core.errors import DataError

    tokenizer.chat_template = None
    with pytest.raises(DataError, match="no chat template"):
        use_chat_template(tokenizer, None)


def test_batches_are_sorted_longest_first_and_cover_everything():
    batches = length_sorted_batches([3, 9, 1, 7, 5], 2)
    assert batches == [[1, 3], [4, 0], [2]]


# --- both engines get the same token ids ----------------------------------------------------------------------------

EXAMPLES = [{"id": f"x/{i}", "messages": ner_prompt("conll2003").messages(text, "none"),
             "gold": {"task": "ner", "text": text, "entities": []}}
            for i, text in enumerate(["Peter Blackburn", "EU rejects German call to boycott British lamb .", "Hi"])]


def hub_style_tokenizer(template: str, out_dir):
    """A tokenizer of the template's family as the hub ships it: it adds BOS by itself (Llama 3 and the R1 distills
    do, through the tokenizer.json post-processor) while the chat template writes BOS too. Saved and reloaded."""
    from tokenizers.processors import TemplateProcessing
    from transformers import AutoTokenizer

    built = build_tokenizer([m["content"] for e in EXAMPLES for m in e["messages"]], template, out_dir,
                            vocab_size=300)
    bos = built.bos_token
    if bos:  # Qwen has none
        built.backend_tokenizer.post_processor = TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, built.bos_token_id)])
    use_chat_template(built, template)
    built.save_pretrained(out_dir)
    loaded = AutoTokenizer.from_pretrained(out_dir)
    if bos:
        assert loaded("Peter")["input_ids"][0] == loaded.bos_token_id  # the trap is set: BOS is added by default
    return loaded


class RecordingModel:
    """Stands in for the transformers model: records the unpadded ids of every row it generates from."""

    device = "cpu"

    def __init__(self):
        self.rows = []

    def generate(self, input_ids, attention_mask, max_new_tokens, eos_token_id, **_):
        import torch

        self.rows += [ids[mask.bool()].tolist() for ids, mask in zip(input_ids, attention_mask)]
        return torch.cat([input_ids, torch.full((len(input_ids), 1), eos_token_id)], dim=1)


class FakeVLLM:
    """A `vllm` module that records what LLM(...) and LLM.generate(...) are given (vLLM is not installed here)."""

    def __init__(self):
        import types

        self.engines, self.prompts = [], []
        fake = self

        class LLM:
            def __init__(self, model, **kwargs):
                fake.engines.append((model, kwargs))

            def generate(self, prompts, params, lora_request=None):
                fake.prompts += prompts
                return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text="none")]) for _ in prompts]

        self.module = types.ModuleType("vllm")
        self.module.LLM, self.module.SamplingParams = LLM, lambda **kwargs: kwargs


@pytest.fixture
def fake_vllm(monkeypatch):
    fake = FakeVLLM()
    monkeypatch.setitem(sys.modules, "vllm", fake.module)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # one process, no workers
    return fake


def run_predict(model_dir, output, *extra):
    data = output.parent / "examples.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in EXAMPLES), encoding="utf-8")
    return llmner("predict", "--model", model_dir, "--data", data, "--output", output, "--max-new-tokens", "8", *extra)


@pytest.mark.parametrize("template", ["llama3", "deepseek_v3"])
def test_vllm_gets_the_token_ids_transformers_generates_from(template, tmp_path, fake_vllm):
    from llmner.prediction.predict import generate_answers, training_prompts

    tokenizer = hub_style_tokenizer(template, tmp_path / "model")
    result = run_predict(tmp_path / "model", tmp_path / "predictions.jsonl", "--backend", "vllm")
    assert result.exit_code == 0, result.output
    assert all(set(prompt) == {"prompt_token_ids"} for prompt in fake_vllm.prompts)  # token prompts, not text
    vllm_rows = [prompt["prompt_token_ids"] for prompt in fake_vllm.prompts]

    model = RecordingModel()
    tokenizer.padding_side, tokenizer.pad_token = "left", tokenizer.pad_token or tokenizer.eos_token
    # every row whole (the prefix cache's own layout gives the same answers: tests/prediction/test_prefix_cache.py)
    examples = [Example.model_validate(e) for e in EXAMPLES]
    generate_answers(model, tokenizer, examples, training_prompts(tokenizer, examples, None), 2, 8, prefix_cache=False)
    assert sorted(model.rows) == sorted(vllm_rows)
    for row in vllm_rows:
        assert row.count(tokenizer.bos_token_id) == 1 and row[0] == tokenizer.bos_token_id


@pytest.mark.parametrize("template", ["llama3", "qwen_25"])
def test_vllm_context_is_the_longest_prompt_plus_the_answer_budget(template, tmp_path, fake_vllm):
    hub_style_tokenizer(template, tmp_path / "model")
    assert run_predict(tmp_path / "model", tmp_path / "p.jsonl", "--backend", "vllm").exit_code == 0
    (_, kwargs), = fake_vllm.engines
    needed = max(len(prompt["prompt_token_ids"]) for prompt in fake_vllm.prompts) + 8
    assert needed <= kwargs["max_model_len"] < needed + 16
    assert kwargs["tensor_parallel_size"] == 1 and "quantization" not in kwargs


def test_eight_bit_under_vllm_is_refused_in_one_line(tmp_path, fake_vllm):
    hub_style_tokenizer("llama3", tmp_path / "model")
    result = run_predict(tmp_path / "model", tmp_path / "p.jsonl", "--backend", "vllm", "--quantization", "8bit")
    assert result.exit_code == 2 and not fake_vllm.engines
    assert result.output.strip().splitlines() == [
        "error: --quantization 8bit: vLLM's bitsandbytes loads 4-bit only; use --backend transformers (or auto) "
        "for 8-bit"]


def test_four_bit_under_vllm_is_its_bitsandbytes(tmp_path, fake_vllm):
    hub_style_tokenizer("llama3", tmp_path / "model")
    assert run_predict(tmp_path / "model", tmp_path / "p.jsonl", "--backend", "vllm", "--quantization",
                       "4bit").exit_code == 0
    (_, kwargs), = fake_vllm.engines
    assert kwargs["quantization"] == kwargs["load_format"] == "bitsandbytes"


@pytest.mark.parametrize("quantization,constrained,vllm_ok,expected", [
    (None, False, True, "vllm"), ("4bit", False, True, "vllm"), ("8bit", False, True, "transformers"),
    (None, True, True, "transformers"), (None, False, False, "transformers")])
def test_auto_backend(quantization, constrained, vllm_ok, expected):
    from llmner.prediction.predict import choose_backend

    assert choose_backend("auto", quantization, constrained, vllm_ok) == expected


# --- a QLoRA adapter is scored on the 4-bit base it was trained against -----------------------------------------------

def adapter_folder(folder, four_bit: bool):
    """An adapter folder as Axolotl leaves it: adapter_config.json and the trained model's config.json, which holds
    the quantization_config transformers' quantizer put there when training loaded the base in 4 bits."""
    from transformers import BitsAndBytesConfig

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/base", "r": 16}))
    config = {"model_type": "qwen2", "vocab_size": 300}
    if four_bit:
        import torch

        config["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16).to_dict()
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture
def recorded_loads(monkeypatch):
    """peft's and transformers' loaders replaced by recorders; a GPU is reported so the bf16 path is taken."""
    import peft
    import torch
    import transformers

    loads = []

    class Loaded:
        merged = False

        def eval(self):
            return self

        def merge_and_unload(self):
            self.merged = True
            return self

    def record(model, **kwargs):
        loads.append((model, kwargs))
        loaded = Loaded()
        loads.append(loaded)
        return loaded

    class Tokenizer:
        pad_token, eos_token = None, "</s>"

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(peft.AutoPeftModelForCausalLM, "from_pretrained", record)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda model: Tokenizer())
    return loads


def test_a_qlora_adapter_loads_on_its_nf4_base_by_default(tmp_path, recorded_loads):
    import torch

    from llmner.prediction.predict import load_model

    load_model(str(adapter_folder(tmp_path / "qlora", four_bit=True)), None, merge=True)
    (_, kwargs), loaded = recorded_loads
    assert not loaded.merged  # folding into nf4 weights would requantise the sum
    config = kwargs["quantization_config"]
    assert config.load_in_4bit and config.bnb_4bit_quant_type == "nf4" and config.bnb_4bit_use_double_quant
    assert config.bnb_4bit_compute_dtype == torch.bfloat16 and kwargs["dtype"] == torch.bfloat16


@pytest.mark.parametrize("four_bit,asked", [(False, None), (True, "none")])
def test_a_lora_adapter_or_none_asked_loads_the_bf16_base(four_bit, asked, tmp_path, recorded_loads):
    from llmner.prediction.predict import load_model

    load_model(str(adapter_folder(tmp_path / "adapter", four_bit=four_bit)), asked, merge=True)
    (_, kwargs), loaded = recorded_loads
    assert "quantization_config" not in kwargs and loaded.merged


def test_by_default_the_adapter_stays_unmerged(tmp_path, recorded_loads):
    from llmner.prediction.predict import load_model

    load_model(str(adapter_folder(tmp_path / "adapter", four_bit=False)), None)
    assert not recorded_loads[1].merged


def test_a_qlora_adapter_under_vllm_gets_bitsandbytes(tmp_path, fake_vllm, monkeypatch):
    import types

    folder = adapter_folder(tmp_path / "qlora", four_bit=True)
    hub_style_tokenizer("qwen_25", folder)
    lora_module = types.ModuleType("vllm.lora.request")
    lora_module.LoRARequest = lambda name, number, path: (name, number, path)
    monkeypatch.setitem(sys.modules, "vllm.lora.request", lora_module)
    result = run_predict(folder, tmp_path / "p.jsonl", "--backend", "vllm")
    assert result.exit_code == 0, result.output
    (base, kwargs), = fake_vllm.engines
    assert base == "org/base" and kwargs["enable_lora"]
    assert kwargs["quantization"] == kwargs["load_format"] == "bitsandbytes"


def test_vllm_names_a_malformed_adapter_config(tmp_path, fake_vllm, monkeypatch):
    """vLLM loads an adapter on the base its adapter_config.json names; a config cut mid-write is one line naming it."""
    import types

    from llmner.core.errors import DataError
    from llmner.prediction.predict import generate_vllm

    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda *args: args
    monkeypatch.setitem(sys.modules, "vllm.lora", types.ModuleType("vllm.lora"))
    monkeypatch.setitem(sys.modules, "vllm.lora.request", request)

    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text('{"base_model_name_or_path": ')
    with pytest.raises(DataError, match=r"adapter_config.json:1: expected a JSON object"):
        generate_vllm(str(tmp_path / "adapter"), [[1, 2]], 8, None)


def test_constrained_decoding_of_an_example_without_its_label_set_is_one_line(tmp_path):
    """A valid NER example may leave `labels` out; the grammar needs them, so --constrained refuses it up front
    (it was a KeyError traceback from prediction.constrained.grammar_of, after the model had loaded)."""
    example = {"id": "x/test/0", "messages": ner_prompt("conll2003").messages("Peter Blackburn"),
               "gold": {"task": "ner", "text": "Peter Blackburn", "entities": []}}
    data = tmp_path / "examples.jsonl"
    data.write_text(json.dumps(example) + "\n", encoding="utf-8")
    result = llmner("predict", "--model", tmp_path / "no-model", "--data", data, "--output", tmp_path / "p.jsonl",
                    "--constrained")
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: {data}:1: expected NER examples with gold.labels (the label set) for "
                                     "--constrained; example 'x/test/0' has none")


# --- a cut run resumes ----------------------------------------------------------------------------------------------

class CutModel(RecordingModel):
    """RecordingModel that raises at its `cut_at`-th generate call, as a run killed mid-way would stop."""

    def __init__(self, cut_at: int | None = None):
        super().__init__()
        self.calls, self.cut_at = 0, cut_at

    def generate(self, **kwargs):
        self.calls += 1
        if self.calls == self.cut_at:
            raise KeyboardInterrupt
        return super().generate(**kwargs)


def test_a_cut_prediction_resumes_where_it_stopped_and_pays_only_for_the_rest(tmp_path, monkeypatch):
    """Hours of generation are not paid twice: each finished batch is kept in OUTPUT.partial, and the same command
    run again after a cut generates only the examples without an answer, then writes OUTPUT whole (in the examples'
    order) and removes the partial file. A partial file of other settings is refused, not mixed in."""
    from llmner.prediction import predict

    tokenizer = hub_style_tokenizer("llama3", tmp_path / "model")
    tokenizer.padding_side, tokenizer.pad_token = "left", tokenizer.pad_token or tokenizer.eos_token
    models = [CutModel(cut_at=2), CutModel(), CutModel(cut_at=1)]
    monkeypatch.setattr(predict, "load_model", lambda *args, **kwargs: (models.pop(0), tokenizer))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    output, same = tmp_path / "predictions.jsonl", ("--backend", "transformers", "--batch-size", "1",
                                                      "--no-prefix-cache")
    first = run_predict(tmp_path / "model", output, *same)
    assert first.exit_code != 0 and not output.exists()
    resumed = models[0]
    assert run_predict(tmp_path / "model", output, *same).exit_code == 0
    assert len(resumed.rows) == len(EXAMPLES) - 1  # one example was answered before the cut
    assert [json.loads(line)["id"] for line in output.read_text().splitlines()] == [e["id"] for e in EXAMPLES]
    assert not (tmp_path / "predictions.jsonl.partial").exists()

    output.unlink()
    assert run_predict(tmp_path / "model", output, *same).exit_code != 0  # cut again before its first answer
    (tmp_path / "predictions.jsonl.partial").write_text(json.dumps({"settings": {"max_new_tokens": 99}}) + "\n")
    other = run_predict(tmp_path / "model", output, *same)
    assert other.exit_code == 2 and other.stderr.count("\n") == 1, other.output
    assert "predictions.jsonl.partial:1: expected" in other.stderr and "max_new_tokens" in other.stderr


def test_a_model_retrained_in_the_same_folder_does_not_resume_the_old_model_s_answers(tmp_path):
    """The partial file's settings name the model by its weights files too: a folder retrained after a cut holds
    another model, and its answers must not be mixed with the old one's."""
    from llmner.prediction.predict import run_settings

    (tmp_path / "model").mkdir()
    weights, data = tmp_path / "model" / "adapter_model.safetensors", tmp_path / "data.jsonl"
    weights.write_bytes(b"old weights")
    data.write_text("{}\n")
    before = run_settings(str(tmp_path / "model"), str(data), max_new_tokens=8)
    assert run_settings(str(tmp_path / "model"), str(data), max_new_tokens=8) == before
    weights.write_bytes(b"retrained weights")
    assert run_settings(str(tmp_path / "model"), str(data), max_new_tokens=8) != before


def test_the_partial_answers_of_an_output_in_a_folder_not_made_yet_are_kept(tmp_path):
    """`llmner predict --output runs/new/predictions.jsonl` makes its folder (make demo does this): the first
    finished batch goes to runs/new/predictions.jsonl.partial."""
    from llmner.prediction.partial import PartialAnswers

    PartialAnswers(tmp_path / "new" / "predictions.jsonl", {"max_new_tokens": 8}).add(["a"], ["PER: Ann"])
    assert PartialAnswers(tmp_path / "new" / "predictions.jsonl", {"max_new_tokens": 8}).answers == {"a": "PER: Ann"}


@pytest.mark.parametrize("bf16_unit,cuda,expected", [(True, False, "bfloat16"), (False, False, "float32"),
                                                     (False, True, "bfloat16")])
def test_auto_dtype_is_bf16_only_where_it_runs_in_hardware(bf16_unit, cuda, expected, monkeypatch):
    """--dtype auto (every command's default): bf16 on a GPU and on a CPU with a bf16 unit, where it runs several
    times faster than fp32; fp32 on a CPU without one, where torch emulates bf16 4.7× slower (AMD EPYC Zen 3)."""
    import torch

    from llmner.core import precision
    from llmner.prediction.predict import torch_dtype

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(precision, "cpu_has_bf16_unit", lambda: bf16_unit)
    assert torch_dtype("auto") == getattr(torch, expected)
    assert torch_dtype("float32") == torch.float32
