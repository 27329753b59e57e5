"""Generate an answer for every example: greedy, batched, deterministic; writes the contract's predictions JSONL.

    llmner predict --model outputs/ds15b_fft --data data/gmb/test.jsonl --output preds.jsonl

The prompt is the exact prefix the model was trained on: the chat template saved with the model is applied to the
example's conversation with a sentinel answer, and everything before the sentinel is the prompt. So training and
prediction agree whatever the template does (a date line, a `<think>` opener, a default system prompt). A LoRA
adapter folder loads on its base model, and a QLoRA adapter (its training loaded the base in 4 bits) on that base in
nf4 again, the model it was trained as; `--quantization 8bit|4bit` loads through bitsandbytes, `none` in bf16 whatever
the adapter was trained on; vLLM is used where it is installed, plain transformers otherwise, and always for
`--constrained` and 8-bit (vLLM's bitsandbytes is 4-bit only). Both engines get the same prompt token ids, so they
generate from the same input.

Every visible GPU is used: one worker process per GPU (or per `--tensor-parallel` GPUs) predicts its shard of the
examples and the shards are merged, each id checked to be predicted once (prediction.shards). `--shard i/N` predicts
one shard only (a Slurm array task; see slurm/eval.sbatch). Classification by label log-probabilities instead of
generation is its own command, `llmner predict-labels` (prediction.label_scores).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click

from llmner.core import options
from llmner.core.errors import DataError
from llmner.core.io import check_writable, read_json, sha256_of, write_jsonl
from llmner.core.prompt_record import as_trained, read_record
from llmner.core.schemas import EXAMPLE, PREDICTIONS, Example, read_examples, read_valid
from llmner.core.tasks import prompt_turns
from llmner.prediction.constrained import MODES as CONSTRAINT_MODES
from llmner.prediction.constrained import complete_answer, grammar_of, grounded_factory, grounded_lines
from llmner.prediction.loop_stop import loop_stop_factory
from llmner.prediction.partial import PartialAnswers
from llmner.prediction.prefix_cache import prefix_cache_for, prefixed_batch
from llmner.prediction.shards import merge_files, parse_shard, shard_of, sub_shard

SENTINEL = "\u2063ANSWER\u2063"  # invisible separators: never part of a real answer
# Llama 3.x hub templates write today's date into the system prompt; a fixed one keeps prompts reproducible
# (the date Meta's template itself falls back to). Templates without the variable ignore it.
PINNED_DATE = "26 Jul 2024"


def use_chat_template(tokenizer, chat_template: str | None) -> None:
    """The template training used: an Axolotl template name or a .jinja file; else the one saved with the model
    (Axolotl saves it on training). A model without one is refused rather than prompted some other way."""
    if chat_template:
        path = Path(chat_template)
        if path.is_file():
            tokenizer.chat_template = path.read_text(encoding="utf-8")
        else:
            from axolotl.utils.chat_templates import get_chat_template

            tokenizer.chat_template = get_chat_template(chat_template)
    if not getattr(tokenizer, "chat_template", None):
        raise DataError(tokenizer.name_or_path, None, "the model folder has no chat template; pass --chat-template "
                                                      "with the recipe's chat_template (e.g. deepseek_v3)")


def prompt_messages(example: Example, record: dict[str, str] | None = None, model: str = "") -> list[dict]:
    """The turns the model continues: the example's, with the system prompt it was fine-tuned on where its folder
    records one (core.prompt_record)."""
    return prompt_turns(as_trained(example.id, example.to_json()["messages"], record or {}, model))


def training_prefix(tokenizer, messages: list[dict]) -> str:
    rendered = tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": SENTINEL}], tokenize=False,
                                             date_string=PINNED_DATE)
    if SENTINEL not in rendered:
        raise ValueError("the chat template drops the assistant turn; cannot build the training prefix")
    return rendered[:rendered.index(SENTINEL)]


def training_prompts(tokenizer, examples: list[Example], chat_template: str | None, model: str = "") -> list[str]:
    use_chat_template(tokenizer, chat_template)
    record = read_record(model) if model else {}
    return [training_prefix(tokenizer, prompt_messages(e, record, model)) for e in examples]


def prompt_token_ids(tokenizer, prompts: list[str]) -> list[list[int]]:
    """The ids both engines generate from. The rendered prefix already holds every special token the template writes
    (Llama 3 and the R1 distills write BOS themselves), so the tokenizer must add none: a second BOS is a prompt the
    model never saw in training."""
    return [tokenizer(prompt, add_special_tokens=False)["input_ids"] for prompt in prompts]


def context_length(prompt_ids: list[list[int]], max_new_tokens: int, block: int = 16) -> int:
    """vLLM's max_model_len from the data: the longest prompt plus the answer budget, rounded up to whole KV-cache
    blocks. Left unset, vLLM reserves the model's full context (131k for Llama 3.x), which an 8B on a 24 GB card
    cannot hold."""
    needed = max(len(ids) for ids in prompt_ids) + max_new_tokens
    return -(-needed // block) * block


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped longest first, so each batch pads little and the slowest batch runs first."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def is_adapter(model: str) -> bool:
    return (Path(model) / "adapter_config.json").exists()


def torch_dtype(name: str):
    """auto: bf16 on a GPU and on a CPU with a bf16 unit (AMX, AVX-512 BF16), where it runs several times faster
    than fp32; fp32 on any other CPU, where bf16 is emulated and several times slower (core/precision.py)."""
    import torch

    from llmner.core.precision import cpu_has_bf16_unit

    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_available() or cpu_has_bf16_unit() else torch.float32
    return getattr(torch, name)


def is_checkpoint(model: str) -> bool:
    """A Trainer checkpoint folder inside a run's output folder.

    >>> is_checkpoint("outputs/ds15b_qlora/checkpoint-200"), is_checkpoint("outputs/ds15b_qlora")
    (True, False)
    """
    name = Path(model).name
    return name.startswith("checkpoint-") and name.removeprefix("checkpoint-").isdigit()


def run_config(model: str) -> Path | None:
    """The config.json an adapter's training saved: beside the adapter, or for a `checkpoint-N` (the Trainer saves
    no model config there) in the run's output folder above it, which Axolotl writes when training starts
    (axolotl/train.py: save_initial_configs), so it is there for every checkpoint, before the run ends."""
    for folder in (Path(model), Path(model).parent if is_checkpoint(model) else None):
        if folder is not None and (folder / "config.json").is_file():
            return folder / "config.json"
    return None


def saved_quantization(model: str) -> dict | None:
    config = run_config(model)
    saved = (read_json(config).get("quantization_config") or {}) if config else {}
    return saved if saved.get("load_in_4bit") else None


def trained_quantization(model: str) -> dict | None:
    """The bitsandbytes settings an adapter's training loaded its base with, or None (not an adapter, or a bf16 base).
    Axolotl saves the trained model's config beside the adapter (axolotl/train.py: model.config.save_pretrained), and
    transformers' quantizer has put the quantization_config into that config (quantizers/base.py). A checkpoint
    whose run folder has no config.json cannot say, and is refused rather than scored on a base it may not have
    learned against."""
    if not is_adapter(model):
        return None
    if is_checkpoint(model) and run_config(model) is None:
        raise DataError(Path(model).parent / "config.json", None,
                        "expected the run's config.json (Axolotl writes it when training starts) to know whether "
                        f"{Path(model).name} trained on a 4-bit base; or give --quantization 4bit|none")
    return saved_quantization(model)


def effective_quantization(model: str, quantization: str | None) -> str | None:
    """What to load the model with: as asked, and by default a QLoRA adapter on the 4-bit base it learned against
    (its updates fit the nf4-dequantised weights, not the bf16 ones); `none` is bf16 whatever the training."""
    if quantization == "none":
        return None
    if quantization is None and trained_quantization(model):
        return "4bit"
    return quantization


def four_bit_config(model: str, compute_dtype):
    """nf4 with double quantisation and bf16 compute on a GPU, as the recipes train; an adapter's saved settings win."""
    from transformers import BitsAndBytesConfig

    saved = (saved_quantization(model) if is_adapter(model) else None) or {}
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=saved.get("bnb_4bit_quant_type", "nf4"),
                              bnb_4bit_use_double_quant=saved.get("bnb_4bit_use_double_quant", True),
                              bnb_4bit_compute_dtype=compute_dtype)


def merged(peft_model):
    """The adapter folded into the base weights: one matrix product per layer at every generated token instead of
    three. A 4-bit or 8-bit base keeps its adapter unmerged (folding would requantise the sum). On the fine-tuned
    SmolLM2 the merged and unmerged answers were compared (benchmarks/RESULTS.md, CPU speed)."""
    return peft_model.merge_and_unload()


def load_model(model: str, quantization: str | None, dtype: str = "auto", merge: bool = False):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    kwargs = {"dtype": torch_dtype(dtype)}
    quantization = effective_quantization(model, quantization)
    if quantization == "8bit":
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    elif quantization == "4bit":
        kwargs["quantization_config"] = four_bit_config(model, kwargs["dtype"])
    if torch.cuda.is_available():
        kwargs["device_map"] = "auto"
    if is_adapter(model):
        from peft import AutoPeftModelForCausalLM

        loaded = AutoPeftModelForCausalLM.from_pretrained(model, **kwargs)
        if merge and quantization is None:
            loaded = merged(loaded)
    else:
        loaded = AutoModelForCausalLM.from_pretrained(model, **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.padding_side = "left"  # generation continues from the right end of every row
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return loaded.eval(), tokenizer


def generate_transformers(model, tokenizer, encoded: list[list[int]], batch_size: int, max_new_tokens: int,
                          logits_processor_factory=None, stopping_factory=None, prefix_cache: bool = True,
                          on_batch=None) -> list[str]:
    """Greedy answers, longest prompts first; with `prefix_cache` the prompt all examples share is encoded once
    (prediction.prefix_cache). `on_batch(indices, texts)` is called as each batch ends."""
    import torch
    from tqdm import tqdm

    outputs = [""] * len(encoded)
    batches = length_sorted_batches([len(ids) for ids in encoded], batch_size)
    prefix = prefix_cache_for(model, encoded, prefix_cache)
    with tqdm(total=len(encoded), desc="generating", unit="example") as progress:
        for batch in batches:
            extra = {}
            if prefix is None:
                inputs = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            else:
                ids, mask = prefixed_batch([encoded[i] for i in batch], prefix.length, tokenizer.pad_token_id)
                inputs = {"input_ids": ids, "attention_mask": mask}
                extra["past_key_values"] = prefix.for_batch(len(batch))
            inputs = {name: tensor.to(model.device) for name, tensor in inputs.items()}
            if logits_processor_factory is not None:
                extra["logits_processor"] = logits_processor_factory(batch, inputs["input_ids"].shape[1])
            if stopping_factory is not None:
                extra["stopping_criteria"] = [stopping_factory(batch, inputs["input_ids"].shape[1])]
            with torch.inference_mode():
                generated = model.generate(**inputs, do_sample=False, max_new_tokens=max_new_tokens,
                                           pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                                           **extra)
            new_tokens = generated[:, inputs["input_ids"].shape[1]:]
            texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            for i, text in zip(batch, texts):
                outputs[i] = text
            if on_batch is not None:
                on_batch(batch, texts)
            progress.update(len(batch))
    return outputs


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    import torch

    return torch.cuda.is_available()


def generate_vllm(model: str, prompt_ids: list[list[int]], max_new_tokens: int, quantization: str | None,
                  tensor_parallel: int = 1) -> list[str]:
    from vllm import LLM, SamplingParams

    quantization = effective_quantization(model, quantization)
    kwargs = {"seed": 0, "max_model_len": context_length(prompt_ids, max_new_tokens),
              "tensor_parallel_size": tensor_parallel}
    if quantization == "4bit":  # in-flight bitsandbytes, nf4; older vLLM also needs the load format named
        kwargs.update(quantization="bitsandbytes", load_format="bitsandbytes")
    elif quantization:
        raise ValueError(f"vLLM cannot load {quantization}")  # choose_backend routes 8-bit to transformers
    if is_adapter(model):
        from vllm.lora.request import LoRARequest

        base = read_json(Path(model) / "adapter_config.json")["base_model_name_or_path"]
        engine, lora = LLM(base, enable_lora=True, **kwargs), LoRARequest("adapter", 1, model)
    else:
        engine, lora = LLM(model, **kwargs), None
    params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens)
    # Token prompts (vLLM's TokensPrompt): vLLM would tokenize a text prompt with special tokens added, a second BOS.
    results = engine.generate([{"prompt_token_ids": ids} for ids in prompt_ids], params, lora_request=lora)
    return [result.outputs[0].text for result in results]


def choose_backend(backend: str, quantization: str | None, constrained: bool, vllm_ok: bool) -> str:
    """vLLM where it is installed and can do what was asked; its in-flight bitsandbytes is 4-bit only, so an 8-bit run
    there would silently be a 4-bit one."""
    if backend == "vllm" and constrained:
        raise DataError("--constrained", None, "generates with transformers; drop --backend vllm")
    if backend == "vllm" and quantization == "8bit":
        raise DataError("--quantization 8bit", None, "vLLM's bitsandbytes loads 4-bit only; use --backend "
                                                     "transformers (or auto) for 8-bit")
    if backend == "auto":
        return "vllm" if vllm_ok and not constrained and quantization != "8bit" else "transformers"
    return backend


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them (Slurm sets it to the job's GPUs)."""
    named = os.environ.get("CUDA_VISIBLE_DEVICES")
    if named is not None:
        return [gpu for gpu in named.split(",") if gpu.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def gpu_groups(gpus: list[str], per_worker: int) -> list[list[str]]:
    """One group of `per_worker` GPUs per model copy (data parallel over copies, tensor parallel within one)."""
    if len(gpus) % per_worker:
        raise DataError("--tensor-parallel", None, f"expected a divisor of the {len(gpus)} GPUs to use, "
                                                   f"got {per_worker}")
    return [gpus[i:i + per_worker] for i in range(0, len(gpus), per_worker)]


def generate_answers(model, tokenizer, examples: list[Example], prompts: list[str], batch_size: int,
                     max_new_tokens: int, constrained: str | None = None, loop_stop: bool = False,
                     prefix_cache: bool = True, on_answers=None) -> list[str]:
    """Greedy batched answers; constrained ones keep only complete, grounded lines (see prediction.constrained);
    with `loop_stop` an NER answer ends where it starts to loop (prediction.loop_stop). `on_answers(ids, answers)`
    gets each batch's finished answers as it ends (prediction.partial keeps them)."""
    encoded = prompt_token_ids(tokenizer, prompts)
    stopping = loop_stop_factory(tokenizer, examples) if loop_stop else None
    factory = grounded_factory(tokenizer, examples, constrained) if constrained in ("end", "force") else None

    def finished(i: int, text: str) -> str:
        if constrained == "skip":
            return grounded_lines(grammar_of(examples[i]), text)
        return complete_answer(factory.grammars[i], text) if factory else text

    answers = [""] * len(examples)

    def on_batch(batch: list[int], texts: list[str]) -> None:
        for i, text in zip(batch, texts):
            answers[i] = finished(i, text)
        if on_answers is not None:
            on_answers([examples[i].id for i in batch], [answers[i] for i in batch])

    generate_transformers(model, tokenizer, encoded, batch_size, max_new_tokens, factory,
                          None if factory else stopping, prefix_cache, on_batch)
    return answers


def check_constrainable(data: str) -> None:
    """Constrained decoding needs NER examples with their label set (the contract lets `labels` be left out)."""
    for line, example, _ in read_valid(data, Example, EXAMPLE):
        if example.gold.task != "ner":
            raise DataError(data, line, "expected NER examples for --constrained")
        if not example.gold.labels:
            raise DataError(data, line, f"expected NER examples with gold.labels (the label set) for --constrained; "
                                        f"example {example.id!r} has none")


def run_settings(model: str, data: str, **settings) -> dict:
    """What decides a run's answers, as a partial file records it: the model (its folder and each weights file's
    size and modification time, so a model retrained in the same folder is another model), the data's sha256, and
    every generation option."""
    folder = Path(model)
    weights = sorted([f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in folder.iterdir()
                     if f.suffix in (".safetensors", ".bin")) if folder.is_dir() else []
    where = str(folder.resolve()) if folder.exists() else model
    return {"model": where, "weights": weights, "data_sha256": sha256_of(data), **settings}


def examples_to_predict(data: str, output: str, examples: int | None, shard: str | None) -> list[Example]:
    """The examples a run predicts (the first `examples`, then its shard), every check that can fail made before a
    model is loaded."""
    check_writable(output)
    records = read_examples(data, examples)
    return shard_of(records, *parse_shard(shard)) if shard else records


# The options both prediction commands take, with one meaning in each.
MODEL = options.model(help="Model folder, LoRA adapter folder or hub id.")
DATA = options.data()
OUTPUT = options.output("Predictions JSONL to write.")
EXAMPLES = options.examples(help="Only the first N examples (a quick look).")
SHARD = options.shard()
QUANTIZATION = options.quantization()
DTYPE = options.dtype()
CHAT_TEMPLATE = options.chat_template()


@click.command()
@MODEL
@DATA
@OUTPUT
@options.batch_size(32)
@options.max_new_tokens(256)
@QUANTIZATION
@click.option("--backend", type=click.Choice(["auto", "transformers", "vllm"]), default="auto", show_default=True,
              help="auto: vLLM where it is installed and can do what is asked, transformers otherwise.")
@DTYPE
@CHAT_TEMPLATE
@click.option("--constrained", type=click.Choice(CONSTRAINT_MODES), is_flag=False, flag_value="skip", default=None,
              help="NER: every answer parses and every mention is in the text. skip (the flag alone): drop the lines "
                   "that do not ground; end: stop at the model's first ungrounded choice; force: the best grounded "
                   "token at every step (see prediction/constrained.py).")
@click.option("--merge/--no-merge", default=False, show_default=True,
              help="Fold a LoRA adapter into a bf16/fp32 base before generating: faster, but its answers are not "
                   "all the same as unmerged (benchmarks/RESULTS.md); a 4-bit or 8-bit base always keeps it unmerged.")
@click.option("--loop-stop", type=click.Choice(["on", "off"]), default="on", show_default=True,
              help="NER: end an answer where it starts to loop (a line longer than the text, a line repeated more "
                   "often than its mention occurs); off: generate to --max-new-tokens.")
@click.option("--prefix-cache/--no-prefix-cache", default=True, show_default=True,
              help="Encode the prompt all examples share once and reuse its cache (prediction/prefix_cache.py); "
                   "--no-prefix-cache encodes it in every row.")
@EXAMPLES
@SHARD
@click.option("--gpus", type=click.IntRange(min=1), default=None,
              help="Spread over this many GPUs [default: every visible one].")
@click.option("--tensor-parallel", type=click.IntRange(min=1), default=1, show_default=True,
              help="GPUs per model copy, for a model that does not fit one (vLLM tensor parallel; transformers "
                   "spreads its layers).")
def predict(model, data, output, batch_size, max_new_tokens, quantization, backend, dtype, chat_template, constrained,
            merge, loop_stop, prefix_cache, examples, shard, gpus, tensor_parallel):
    """Generate answers for every example of DATA with MODEL."""
    records = examples_to_predict(data, output, examples, shard)
    if constrained:
        check_constrainable(data)
    backend = choose_backend(backend, quantization, constrained, vllm_available() if backend == "auto" else False)
    groups = gpu_groups(visible_gpus()[:gpus], tensor_parallel)[:len(records)]  # no worker without an example
    if len(groups) > 1:
        count = predict_on_workers(groups, records, data, output, shard, examples, backend, model=model,
                                   batch_size=batch_size, max_new_tokens=max_new_tokens, quantization=quantization,
                                   dtype=dtype, chat_template=chat_template, constrained=constrained, merge=merge,
                                   loop_stop=loop_stop, prefix_cache=prefix_cache)
        click.echo(f"wrote {count} predictions to {output} ({len(groups)} workers)", err=True)
        return
    started, partial = None, None
    if not records:  # a shard can be empty (fewer examples than workers)
        outputs = []
    elif backend == "vllm":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model)
        prompts = training_prompts(tokenizer, records, chat_template, model)
        outputs = generate_vllm(model, prompt_token_ids(tokenizer, prompts), max_new_tokens, quantization,
                                tensor_parallel)
    else:
        settings = run_settings(model, data, batch_size=batch_size, max_new_tokens=max_new_tokens,
                                quantization=quantization, dtype=dtype, chat_template=chat_template,
                                constrained=constrained, merge=merge, loop_stop=loop_stop, prefix_cache=prefix_cache,
                                examples=examples, shard=shard)
        partial = PartialAnswers(output, settings)
        todo = [example for example in records if example.id not in partial.answers]
        if partial.answers:
            click.echo(f"resuming: {len(records) - len(todo)} of {len(records)} examples were answered before the "
                       f"run was cut ({partial.path})", err=True)
        loaded, tokenizer = load_model(model, quantization, dtype, merge)
        prompts = training_prompts(tokenizer, todo, chat_template, model)
        started = time.perf_counter()
        if todo:
            generate_answers(loaded, tokenizer, todo, prompts, batch_size, max_new_tokens, constrained,
                             loop_stop == "on", prefix_cache, on_answers=partial.add)
        outputs = [partial.answers[example.id] for example in records]
    count = write_jsonl(output, (PREDICTIONS[e.gold.task](id=e.id, output=text).to_json()
                                 for e, text in zip(records, outputs)))
    if partial is not None:
        partial.remove()
    timing = "" if started is None else f" (generated in {time.perf_counter() - started:.1f} s)"
    click.echo(f"wrote {count} predictions to {output}{timing}", err=True)


def worker_command(settings: dict, output: str, shard: str, gpus: int) -> list[str]:
    """This command again for one worker: its shard, its output, its GPUs (so it runs in one process)."""
    command = [sys.executable, "-m", "llmner", "predict", "--output", output, "--shard", shard, "--gpus", str(gpus),
               "--tensor-parallel", str(gpus)]
    for name, value in settings.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):  # --merge/--no-merge: both spellings exist, and the default is on
            command.append(flag if value else "--no-" + name.replace("_", "-"))
        elif value is not None:
            command += [flag, str(value)]
    return command


def predict_on_workers(groups: list[list[str]], records: list[Example], data: str, output: str, shard: str | None,
                       examples: int | None, backend: str, **settings) -> int:
    """One process per GPU group, each with CUDA_VISIBLE_DEVICES set to its group, predicting its shard; then the
    checked merge. Independent engines are vLLM's offline data parallel for a dense model (its own example starts
    one process per rank the same way) without the cross-rank synchronisation only MoE models need."""
    outer = parse_shard(shard) if shard else (0, 1)
    parts = Path(output).with_name(Path(output).name + ".shards")
    parts.mkdir(parents=True, exist_ok=True)
    workers = []
    for k, group in enumerate(groups):
        index, count = sub_shard(outer, (k, len(groups)))
        part = str(parts / f"{k}-of-{len(groups)}.jsonl")
        command = worker_command({**settings, "data": data, "examples": examples, "backend": backend}, part,
                                 f"{index}/{count}", len(group))
        environment = {**os.environ, "CUDA_VISIBLE_DEVICES": ",".join(group)}
        workers.append((group, part, subprocess.Popen(command, env=environment)))
    failed = [(group, process.wait()) for group, _, process in workers]
    failed = [(group, status) for group, status in failed if status]
    if failed:
        raise click.ClickException(f"the worker on GPU {','.join(failed[0][0])} exited with status {failed[0][1]} "
                                   f"({len(failed)} of {len(groups)} failed; see its log above)")
    written = merge_files([e.id for e in records], data, [part for _, part, _ in workers], output)
    shutil.rmtree(parts)
    return written
