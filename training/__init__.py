"""Training-side tools around the Axolotl recipes (the recipes themselves are plain YAML in recipes/)."""
