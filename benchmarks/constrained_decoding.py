"""Unconstrained against grounded constrained decoding, on one model and one examples file, measured on this run.

    python benchmarks/constrained_decoding.py --model outputs/ds15b_fft --data data/gmb/test.jsonl --limit 500

Prints, for both ways: unparseable outputs, ungrounded mentions, strict entity F1, and generation time (the slow-down
of the constraint). Both use the same greedy, batched generation of `make eval`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@click.command()
@click.option("--model", required=True)
@click.option("--data", required=True)
@click.option("--limit", default=200, show_default=True)
@click.option("--batch-size", default=16, show_default=True)
@click.option("--max-new-tokens", default=64, show_default=True)
@click.option("--chat-template", default=None)
def main(model, data, limit, batch_size, max_new_tokens, chat_template):
    import torch

    from converters.io import read_jsonl
    from evaluators.constrained import complete_answer, grounded_factory
    from evaluators.data import Gold, Prediction
    from evaluators.predict import generate_transformers, load_model, prompt_messages, training_prefix, use_chat_template
    from evaluators.score import score_ner

    torch.set_num_threads(max(1, torch.get_num_threads()))
    examples = [record for _, record in read_jsonl(data)][:limit]
    loaded, tokenizer = load_model(model, None)
    use_chat_template(tokenizer, chat_template)
    prompts = [training_prefix(tokenizer, prompt_messages(e)) for e in examples]
    gold = Gold("ner", {e["id"]: e["gold"] for e in examples}, data)
    rows = []
    for name in ("unconstrained", "constrained"):
        factory = grounded_factory(tokenizer, examples) if name == "constrained" else None
        start = time.perf_counter()
        outputs = generate_transformers(loaded, tokenizer, prompts, batch_size, max_new_tokens, factory)
        seconds = time.perf_counter() - start
        if factory:
            outputs = [complete_answer(g, o) for g, o in zip(factory.grammars, outputs)]
        report, _ = score_ner(gold, {e["id"]: Prediction(i, {"id": e["id"], "output": o})
                                     for i, (e, o) in enumerate(zip(examples, outputs))})
        rows.append((name, report["unparseable_outputs"], report["ungrounded_mentions"],
                     report["entity"]["micro"]["f1"], seconds))
    click.echo(f"{'':<14}{'unparseable':>12}{'ungrounded':>12}{'strict F1':>11}{'seconds':>9}")
    for name, unparseable, ungrounded, f1, seconds in rows:
        click.echo(f"{name:<14}{unparseable:>12}{ungrounded:>12}{f1:>11.4f}{seconds:>9.1f}")
    click.echo(f"slow-down of the constraint: {rows[1][4] / rows[0][4] - 1:+.1%} ({len(examples)} examples, {data})")


if __name__ == "__main__":
    main()
