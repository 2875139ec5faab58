"""DataConfig: where sessions come from (one typed section of the project configuration)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class DataConfig(BaseModel):
    """Which sessions a command reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(
        default="sample",
        description='"sample" (shipped), "aicl" (the real split under `dir`) or a sessions .jsonl.',
    )
    dir: Path | None = Field(
        default=None,
        description="Real-data folder for source aicl (also $BUNDLEKD_DATA_DIR).",
    )
    domains: tuple[str, ...] = Field(default=(), description="Domains to use; empty = all.")
    split: str = Field(default="test", description="Split to predict or score: val, test, ...")
    limit: int | None = Field(
        default=None, ge=1, description="Only the first N sessions (the first ones are easier)."
    )
    sample: int | None = Field(
        default=None,
        ge=1,
        description="A seeded random N sessions per domain instead of all (unbiased, unlike "
        "`limit`; for arms too slow to run on every session).",
    )
    seed: int = Field(default=0, description="Seed of `sample`.")
