"""`llmner`: the project's one command line, a subcommand per stage in the order data moves (llmner/cli.py)."""
