"""Knowledge storage: the item schema, the JSONL store with history, incremental updates."""
