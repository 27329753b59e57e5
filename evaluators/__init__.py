"""Strict, exact scoring (shared/CONTRACT.md sections 2 and 3), and prediction for `make eval`."""
