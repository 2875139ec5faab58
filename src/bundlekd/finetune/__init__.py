"""bundlekd.finetune: knowledge distilled into weights.

- `embedder`: MiniLM fine-tuned on co-bundled training items (`bundlekd finetune embedder`).
- `sft_data` (+ `sft_inputs`): prompt-completion rows from the one prompt builder, with item-order
  augmentation and the leakage guard (`bundlekd finetune data`).
- `trainer` (+ `sft_batches`, `sft_validation`): LoRA or full fine-tuning of the student in a
  plain PEFT/torch loop, validated per epoch (`bundlekd finetune train`).
- `adapter_card`: the card beside the adapter and the vLLM line that serves it
  (`bundlekd finetune serve-cmd`).
"""
