"""bundlekd.finetune: knowledge distilled into weights.

- `embedder`: MiniLM fine-tuned on co-bundled training items (`bundlekd finetune embedder`).

Fine-tuning the student LLM (LoRA SFT) is not built yet.
"""
