"""bundlekd.finetune: knowledge distilled into weights.

- `embedder`: MiniLM fine-tuned on co-bundled training items (`bundlekd finetune embedder`).
"""
