"""Train the LoRA adapter that `make test` serves on vLLM, with bundlekd's own trainer.

Four optimiser steps on the shipped sample's SFT rows (titles input, one shuffled copy per
session), rank 8, on the default model (SmolLM2-135M-Instruct): about 40 CPU-seconds in the
dtype `auto` picks (float32 on an AVX2-only CPU, where emulated bf16 took over 17 minutes;
set BUNDLEKD_NUM_THREADS=1 on busy cores). The folder gets the trainer's adapter_card.json,
so the integration tests can check that the adapter vLLM serves is one `bundlekd finetune
train` wrote, and then generate bundles with it through `bundlekd generate`. A folder that
already has a card is kept.

Usage: python scripts/vllm/make_test_lora.py OUT_DIR
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

SERVED_NAME = "bkd-lora"
SETTINGS = {
    "data.source": "sample",
    "sft.data.input": "titles",
    "sft.data.augment": 1,
    "sft.train.method": "lora",
    "sft.train.lora_rank": 8,
    "sft.train.lora_alpha": 16,
    "sft.train.learning_rate": 1e-3,
    "sft.train.batch_size": 4,
    "sft.train.max_steps": 4,
    "sft.train.epochs": 1,
    "sft.train.eval_sessions": 0,
    "sft.train.device": "cpu",
}


def main(out_dir: str) -> None:
    from bundlekd.app.finetuning import run_sft_data, run_sft_training
    from bundlekd.config import load_config

    out = Path(out_dir)
    if (out / "adapter_card.json").exists():
        print(out)
        return
    config = load_config(overrides=SETTINGS).config
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "sft-sample.jsonl"
        run_sft_data(config, data)
        command = " ".join(["python", "scripts/vllm/make_test_lora.py", out_dir])
        run_sft_training(
            config, data, out, base_spec="smollm2", command=command, served_name=SERVED_NAME
        )
    print(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
