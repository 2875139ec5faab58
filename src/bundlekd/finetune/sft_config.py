"""SFTConfig: how `bundlekd finetune data` builds SFT rows and `finetune train` trains on them.

One typed section (`sft` in the project config) with two parts: `data` (inputs, targets,
augmentation) and `train` (LoRA or full weights, optimiser, schedule, device, validation).
The prompt itself is not configured here: rows are built by `agent.prompting` from the
`generation` section, so training and inference read the same settings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SFTInput = Literal["titles", "knowledge", "agent"]
BundleOrder = Literal["position", "gt"]
Method = Literal["lora", "full"]
Schedule = Literal["linear", "cosine", "constant"]
TrainDevice = Literal["auto", "cpu", "cuda"]

#: The target modules of a Llama-style decoder (SmolLM2, Qwen2): attention and MLP.
LLAMA_ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
LLAMA_MLP = ("gate_proj", "up_proj", "down_proj")


class SFTDataConfig(BaseModel):
    """Which prompt-completion rows `bundlekd finetune data` writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: SFTInput = Field(
        default="titles",
        description="titles: the numbered titles only (the zero_shot prompt). knowledge: plus "
        "retrieved knowledge (SFT+ICL; the icl prompt without worked examples). agent: the "
        "agent's edit prompt, i.e. the grouping tool's proposals plus knowledge.",
    )
    augment: int = Field(
        default=0,
        ge=0,
        le=20,
        description="Extra copies of each training session with its items shuffled (targets "
        "remapped): attacks the position bias of a model that learns 'products 1 and 2'.",
    )
    keep_original: bool = Field(
        default=True, description="Keep the session in its own order beside the shuffled copies."
    )
    bundle_order: BundleOrder = Field(
        default="position",
        description="position: target bundles sorted by their first product number, so the "
        "target is a function of the prompt (also after shuffling); gt: the data's order.",
    )
    with_thought: bool = Field(
        default=False,
        description="Precede the bundles with the session's distilled thought (a KB with "
        "thoughts is needed); only rows in the original order get one (a thought may cite "
        "product numbers).",
    )
    val_rows: bool = Field(
        default=True,
        description="Also write the validation sessions' prompts (split 'val', never "
        "augmented) for the trainer's per-epoch evaluation.",
    )
    seed: int = Field(default=0, description="Shuffling seed.")


class SFTTrainConfig(BaseModel):
    """How `bundlekd finetune train` fits the student."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Method = Field(
        default="lora", description="lora (PEFT adapter) or full (every weight; small models)."
    )
    lora_rank: int = Field(default=16, ge=1, le=512, description="LoRA rank r.")
    lora_alpha: int = Field(default=32, ge=1, description="LoRA alpha (scale = alpha / r).")
    lora_dropout: float = Field(
        # Dropout makes a float32 copy of every targeted module's input: on CPU one step of
        # 8 x 340 tokens took 22-24 CPU s with 0.05 and 15-18 s without (and 30 % less RAM).
        default=0.0,
        ge=0.0,
        lt=1.0,
        description="LoRA dropout (0: item-order augmentation and epoch choice regularise).",
    )
    target_modules: tuple[str, ...] = Field(
        default=LLAMA_ATTENTION + LLAMA_MLP,
        min_length=1,
        description="Module names that get LoRA (Llama/Qwen names by default).",
    )
    learning_rate: float = Field(
        default=2e-4, gt=0, description="Peak AdamW learning rate (1e-4 suits full tuning)."
    )
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay.")
    schedule: Schedule = Field(default="linear", description="Decay after the warm-up.")
    warmup_ratio: float = Field(default=0.05, ge=0, le=0.5, description="Linear warm-up share.")
    epochs: int = Field(default=2, ge=1, le=50, description="Passes; val keeps the best.")
    max_steps: int | None = Field(
        default=None, ge=1, description="Stop after this many optimiser steps (smoke runs)."
    )
    batch_size: int = Field(default=8, ge=1, description="Rows per forward pass.")
    grad_accum: int = Field(default=1, ge=1, description="Forward passes per optimiser step.")
    max_length: int = Field(
        default=1024,
        ge=32,
        description="Most tokens of prompt + answer; longer rows are dropped (and counted), "
        "never cut: a cut answer would teach broken JSON.",
    )
    max_grad_norm: float = Field(default=1.0, gt=0, description="Gradient clipping norm.")
    seed: int = Field(default=0, description="Initialisation and shuffling seed.")
    device: TrainDevice = Field(
        default="auto", description="auto (cuda when present), cpu or cuda."
    )
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        default="auto",
        description="Compute dtype. auto: bf16 on a GPU that has it; on CPU bf16 for LoRA (a "
        "frozen bf16 base, float32 adapter) only where the CPU computes bf16 natively "
        "(AVX512-BF16/AMX; emulated bf16 trains up to 20x slower), float32 for full tuning.",
    )
    bf16: bool | None = Field(
        default=None,
        description="Older spelling of dtype (true = bfloat16, false = float32); overrides it.",
    )
    threads: int | None = Field(default=None, ge=1, description="torch CPU threads.")
    gradient_checkpointing: bool = Field(
        default=False,
        description="Recompute activations in the backward pass: far less memory (a big model "
        "on a GPU, or the 10 GB a CPU batch of 8 x 600 tokens takes), ~30 % more time.",
    )
    eval_sessions: int = Field(
        default=32,
        ge=0,
        description="Validation sessions generated and scored after each epoch (0 = no "
        "validation; the last epoch is kept).",
    )
    eval_batch_size: int = Field(default=8, ge=1, description="Rows per generate call (val).")
    keep_checkpoints: bool = Field(
        default=True,
        description="Keep every epoch's checkpoint after training (off: only the best; full "
        "tuning writes a whole model per epoch).",
    )

    @model_validator(mode="after")
    def _check(self) -> SFTTrainConfig:
        if self.method == "lora" and not self.target_modules:
            raise ValueError("LoRA needs at least one target module")
        return self


class SFTConfig(BaseModel):
    """Supervised fine-tuning of the student: data building and training."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: SFTDataConfig = Field(default_factory=SFTDataConfig, description="SFT rows.")
    train: SFTTrainConfig = Field(default_factory=SFTTrainConfig, description="Training.")
