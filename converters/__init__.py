"""Raw datasets -> chat-format JSONL examples (shared/CONTRACT.md section 1)."""
