"""The backend interface: one abstract, batch-first method (`LLM.generate`).

`llm/` knows messages and tokens, never sessions or bundles.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from bundlekd.llm.tokens import approx_tokens

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class Sampling:
    max_new_tokens: int = 256
    temperature: float = 0.0  # greedy by default: reproducible and cacheable
    top_p: float = 1.0
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: tuple[Message, ...]
    sampling: Sampling = field(default_factory=Sampling)
    json_schema: dict[str, Any] | None = None  # constrain the answer when the backend can
    adapter: str | None = None  # LoRA adapter name/path, when the backend supports adapters
    custom_id: str = ""
    prompt_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [m.to_dict() for m in self.messages],
            "sampling": self.sampling.to_dict(),
            "json_schema": self.json_schema,
            "adapter": self.adapter,
            "prompt_version": self.prompt_version,
        }


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    finish_reason: str = "stop"  # "stop" | "length" | "error"
    model: str = ""
    error: str | None = None  # set when this one request failed but the batch went on


class LLM(ABC):
    """A chat model. Subclasses implement only `generate`."""

    name: ClassVar[str] = "llm"
    # Capabilities: class attributes, which a wrapper (CachingLLM) or a backend that finds out
    # at run time (TransformersLLM without xgrammar) may shadow per instance.
    supports_json_schema: bool = False
    supports_adapters: bool = False

    @property
    def model_id(self) -> str:
        return self.name

    @abstractmethod
    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Answer every request, in order. Raise LLMError only for infrastructure failures."""

    def complete(self, messages: Sequence[Message], **kwargs: Any) -> Completion:
        """Single-request convenience built on `generate`."""
        return self.generate([ChatRequest(messages=tuple(messages), **kwargs)])[0]

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` takes for this model, for prompt budgets.

        The default is the tokenizer-free estimate `llm.tokens.approx_tokens`; backends that
        hold a tokenizer count exactly.
        """
        return approx_tokens(text)

    def runtime(self) -> dict[str, str]:
        """How this backend computes, for manifests (a local model: dtype, why, device)."""
        return {}

    def close(self) -> None:  # noqa: B027  # optional hook, most backends hold nothing
        """Release resources (servers, threads)."""
