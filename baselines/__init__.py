"""Baselines scored by the same evaluator: spaCy, encoder token classifiers, LLM+CRF tagger, API prompting."""
