"""The one place where label sets and prompts are written.

Converters build every example's conversation from these, and from then on each example carries its own: its turns,
and its label set in `gold`, which is where the scorer reads labels (from here it takes only the MCQ letters).
`llmner derive --prompt compact` swaps an NER example's system turn for the compact one (`NerPrompt.system`).
Nothing rebuilds a prompt at prediction: `llmner predict`, `predict-labels` and the API baseline send each example's
own turns without its answer (`prompt_turns`); a fine-tuned model's folder may record the system turn it was trained
on (written by the training plugin training.prompt_record), and prediction then puts that one in place of the
example's (core.prompt_record), so training and prediction cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmner.core.answer_format import ANSWER_FORMATS, DEFAULT_FORMAT

NER_LABELS: dict[str, tuple[str, ...]] = {
    "conll2003": ("PER", "LOC", "ORG", "MISC"),
    "gmb": ("GEO", "GPE", "PER", "ORG", "TIM", "ART", "EVE", "NAT"),
    "zh_ner": ("GPE", "PER", "ORG", "LOC"),
    "wnut17": ("person", "location", "corporation", "product", "creative-work", "group"),
}

# What each label means, shown to the model so that a zero-shot prompt is answerable too.
LABEL_GLOSSES: dict[str, str] = {
    "PER": "person",
    "LOC": "location",
    "ORG": "organisation",
    "MISC": "other named entity",
    "GEO": "geographical entity",
    "GPE": "geopolitical entity",
    "TIM": "time expression",
    "ART": "artifact",
    "EVE": "event",
    "NAT": "natural phenomenon",
}

CLASSIFICATION_LABELS: dict[str, tuple[str, ...]] = {
    "ag_news": ("World", "Sports", "Business", "Sci/Tech"),
    "zh_news": ("finance", "realty", "stocks", "education", "science", "society", "politics", "sports", "game",
                "entertainment"),
}

MCQ_LETTERS = ("A", "B", "C", "D")


def chat(system: str, user: str, answer: str | None = None) -> list[dict[str, str]]:
    """One exchange in the contract's message layout; the assistant turn only when the answer is known.

    >>> [turn["role"] for turn in chat("Be brief.", "Hi", answer="Hello")]
    ['system', 'user', 'assistant']
    """
    turns = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    if answer is not None:
        turns.append({"role": "assistant", "content": answer})
    return turns


def prompt_turns(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The conversation a model is asked to continue: every turn but the (training) answer."""
    return [turn for turn in messages if turn["role"] != "assistant"]


@dataclass(frozen=True)
class NerPrompt:
    """Everything that decides what the model sees and must answer for one NER dataset."""

    dataset: str
    labels: tuple[str, ...]
    answer_format: str  # a name from core.answer_format.ANSWER_FORMATS

    def system(self, style: str = "full") -> str:
        """The system prompt: `full` explains the task and the format (what an untouched model needs); `compact`
        names the task, the label set and the format only, for a model fine-tuned on this prompt, which learns the
        rest from its answers (a third of the tokens: see PROMPT_STYLES).

        >>> ner_prompt("conll2003").system("compact")
        'NER, lines: PER, LOC, ORG, MISC'
        """
        if style == "compact":
            return compact_ner_system(self.labels, self.answer_format)
        kinds = ", ".join(f"{label} ({LABEL_GLOSSES[label]})" if label in LABEL_GLOSSES else label
                          for label in self.labels)
        return (f"You are a named-entity recogniser. Entity types: {kinds}. "
                + ANSWER_FORMATS[self.answer_format].instruction)

    def messages(self, text: str, answer: str | None = None) -> list[dict[str, str]]:
        return chat(self.system(), text, answer)


# The NER system prompts: `full` for prompting and for a fine-tune that wants the instruction; `compact` for
# fine-tuning, where ~80 of the ~150 tokens of every example were the fixed instruction (benchmarks/RESULTS.md,
# CPU speed). Prediction reads the prompt a model was trained on from its folder (core.prompt_record).
PROMPT_STYLES = ("full", "compact")


def compact_ner_system(labels: tuple[str, ...] | list[str], answer_format: str) -> str:
    return f"NER, {answer_format}: " + ", ".join(labels)


DEFAULT_NER_FORMAT = {"zh_ner": "json"}  # the Chinese seed recipe answered one JSON object per entity


def ner_prompt(dataset: str, answer_format: str | None = None) -> NerPrompt:
    return NerPrompt(dataset, NER_LABELS[dataset], answer_format or DEFAULT_NER_FORMAT.get(dataset, DEFAULT_FORMAT))


def classification_system(labels: tuple[str, ...]) -> str:
    return ("Classify the news text into exactly one topic. Answer with the topic name only, one of: "
            + ", ".join(labels) + ".")


def classification_messages(text: str, labels: tuple[str, ...], shots: list[tuple[str, str]] = (),
                            answer: str | None = None) -> list[dict[str, str]]:
    """Zero-shot when `shots` is empty; one- or few-shot puts solved examples before the text, as the seeds did."""
    shot_block = "".join(f"Text: {shot_text}\nTopic: {shot_label}\n\n" for shot_text, shot_label in shots)
    return chat(classification_system(labels), f"{shot_block}Text: {text}\nTopic:" if shots else text, answer)


MCQ_SYSTEM = "以下是单项选择题。请只回答正确选项的字母（A、B、C 或 D）。"


def mcq_messages(question: str, options: dict[str, str], answer: str | None = None) -> list[dict[str, str]]:
    body = question.strip() + "\n" + "\n".join(f"{letter}. {options[letter]}" for letter in MCQ_LETTERS)
    return chat(MCQ_SYSTEM, body, answer)
