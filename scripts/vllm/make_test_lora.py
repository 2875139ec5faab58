"""Write a small PEFT LoRA adapter for the default model, for testing LoRA serving on vLLM.

A fresh adapter has lora_B = 0 and changes nothing, so B gets small random values (seeded):
the served adapter must then answer differently from the base model.

Usage: python scripts/vllm/make_test_lora.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(out_dir: str) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from bundlekd.llm.model_store import ensure_default_model

    out = Path(out_dir)
    if (out / "adapter_config.json").exists():
        print(out)
        return
    base = AutoModelForCausalLM.from_pretrained(ensure_default_model(), dtype=torch.bfloat16)
    config = LoraConfig(
        r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        task_type="CAUSAL_LM",
    )  # fmt: skip
    model = get_peft_model(base, config)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.02)
    model.save_pretrained(out)
    print(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
