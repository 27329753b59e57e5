"""`llmner baseline <spacy|encoder|crf|api> ...`: every baseline behind one click group, scored by one evaluator. A
baseline's module (spaCy, torch, openai) is imported only when its command runs, as every stage of `llmner` is."""

import click

from llmner.core.cli_groups import LazyGroup

BASELINES = {
    "spacy": ("llmner.baselines.spacy_ner:main", "spaCy NER trained from scratch (train, predict, bench)."),
    "encoder": ("llmner.baselines.token_classifier:main", "An encoder token classifier, BERT-style (train, predict)."),
    "crf": ("llmner.baselines.crf_tagger:main", "An LLM backbone + linear + CRF tagger (train, predict)."),
    "api": ("llmner.baselines.api:main", "Prompting any OpenAI-compatible chat API (run)."),
    "tfidf": ("llmner.baselines.text_classifier:main", "TF-IDF + logistic regression text classifier (train, "
                                                       "predict)."),
}


@click.group(cls=LazyGroup, lazy=BASELINES)
def main():
    """Baselines scored by the same evaluator: llmner baseline <spacy|encoder|crf|api|tfidf> ..."""
