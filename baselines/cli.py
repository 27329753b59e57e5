"""`llmner baseline <spacy|encoder|crf|api> ...`: every baseline behind one click group, scored by one evaluator."""

import click

from baselines import api, crf_tagger, spacy_ner, token_classifier


@click.group()
def main():
    """Baselines scored by the same evaluator: llmner baseline <spacy|encoder|crf|api> ..."""


main.add_command(spacy_ner.main, "spacy")
main.add_command(token_classifier.main, "encoder")
main.add_command(crf_tagger.main, "crf")
main.add_command(api.main, "api")
