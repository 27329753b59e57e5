"""The shared core every stage imports, and that imports nothing else of the project.

Tasks (prompts, label sets, answer formats), spans and grounding, IOB tags, and the contract's records (examples,
predictions) with their reading, writing and the one error a user sees for bad input.
"""
