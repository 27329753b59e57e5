"""Prediction's prompt is exactly the prefix the model was trained on, for every template the recipes use."""

from __future__ import annotations

import pytest

from core.tasks import ner_prompt
from prediction.predict import PINNED_DATE, length_sorted_batches, training_prefix, use_chat_template
from training.twin import TEMPLATE_TOKENS, build_tokenizer

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
    tokenizer.chat_template = ("{{ 'Today Date: ' + (date_string if date_string is defined else strftime_now('%d %b %Y')) }}"
                               "{% for m in messages %}{{ m['content'] }}|{% endfor %}")
    assert training_prefix(tokenizer, MESSAGES[:2]).startswith(f"Today Date: {PINNED_DATE}")


def test_a_model_without_template_is_refused(tokenizer):
    from core.io import DataError

    tokenizer.chat_template = None
    with pytest.raises(DataError, match="no chat template"):
        use_chat_template(tokenizer, None)


def test_batches_are_sorted_longest_first_and_cover_everything():
    batches = length_sorted_batches([3, 9, 1, 7, 5], 2)
    assert batches == [[1, 3], [4, 0], [2]]
