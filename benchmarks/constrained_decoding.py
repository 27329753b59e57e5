"""Unconstrained against grounded constrained decoding, on one model and one examples file, measured on this run.

    llmner bench constrained --model outputs/ds15b_fft --data data/gmb/test.jsonl --examples 500

Prints, for both ways: unparseable outputs, ungrounded mentions, strict entity F1, and generation time (the slow-down
of the constraint). Both use the same greedy, batched generation of `make eval`.
"""

from __future__ import annotations

import time

import click

from llmner.core import options


@click.command()
@options.model()
@options.data()
@options.examples(200)
@options.batch_size(16)
@options.max_new_tokens(64)
@options.chat_template()
@options.dtype()
def main(model, data, examples, batch_size, max_new_tokens, chat_template, dtype):
    """Unconstrained against grounded constrained decoding (each mode of --constrained) on the first examples of
    DATA with MODEL: unparseable outputs, ungrounded mentions, strict entity F1 and generation time of each."""
    from llmner.core.schemas import NerPrediction, read_examples
    from llmner.evaluators.data import Gold
    from llmner.evaluators.score import build_report
    from llmner.prediction.constrained import MODES
    from llmner.prediction.predict import check_constrainable, generate_answers, load_model, training_prompts

    examples = read_examples(data, examples)  # bad data is found before a model is loaded
    check_constrainable(data)
    loaded, tokenizer = load_model(model, None, dtype)
    prompts = training_prompts(tokenizer, examples, chat_template, model)
    gold = Gold("ner", {e.id: e.gold for e in examples}, data)
    rows = []
    for name in ("unconstrained", *MODES):
        start = time.perf_counter()
        outputs = generate_answers(loaded, tokenizer, examples, prompts, batch_size, max_new_tokens,
                                   constrained=None if name == "unconstrained" else name)
        seconds = time.perf_counter() - start
        report = build_report(gold, {e.id: NerPrediction(id=e.id, output=o) for e, o in zip(examples, outputs)})
        rows.append((name, report.unparseable, report.ungrounded_mentions, report.headline.value, seconds))
    click.echo(f"{'':<14}{'unparseable':>12}{'ungrounded':>12}{'strict F1':>11}{'seconds':>9}")
    for name, unparseable, ungrounded, f1, seconds in rows:
        click.echo(f"{name:<14}{unparseable:>12}{ungrounded:>12}{f1:>11.4f}{seconds:>9.1f}")
    for name, *_, seconds in rows[1:]:
        click.echo(f"slow-down of {name}: {seconds / rows[0][4] - 1:+.1%} ({len(examples)} examples, {data})")

