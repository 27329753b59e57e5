"""Axolotl recipes (YAML) and the tool that derives a CPU twin of any of them (`python -m recipes.twin`)."""
