"""EmbedderTuneConfig: how `bundlekd finetune embedder` trains (a typed configuration section)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EmbedderTuneConfig(BaseModel):
    """Contrastive fine-tuning of the title embedder on training bundles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(
        default=2,
        ge=1,
        le=20,
        description="Passes over the pairs; the best epoch by validation pair AP is kept.",
    )
    batch_size: int = Field(default=32, ge=2, description="Pairs per step (in-batch negatives).")
    max_seq_length: int = Field(
        # Product titles are short: 32 word pieces keep ~all of a title's head and make a
        # CPU epoch several times cheaper than the model's default 256.
        default=32,
        ge=8,
        le=256,
        description="Word pieces per title.",
    )
    pairs_per_bundle: int = Field(
        # A 10-item bundle has 45 pairs; capping keeps big bundles from dominating an epoch.
        default=2,
        ge=1,
        description="Co-bundled pairs sampled per training bundle.",
    )
    learning_rate: float = Field(default=5e-5, gt=0, description="AdamW learning rate.")
    warmup_ratio: float = Field(default=0.1, ge=0, le=0.5, description="Linear warm-up share.")
    scale: float = Field(default=20.0, gt=0, description="MNRL similarity scale (1/temperature).")
    freeze_word_embeddings: bool = Field(
        # The vocabulary matrix is half the model; freezing it halves the optimizer state and
        # did not hurt validation AP in our runs.
        default=True,
        description="Keep the word-embedding matrix fixed.",
    )
    seed: int = Field(default=0, description="Pair sampling and shuffling seed.")
    threads: int | None = Field(default=None, ge=1, description="torch threads (default: all).")
