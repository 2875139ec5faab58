"""StudentAgent: sessions in, validated bundle predictions out, one backend batch at a time.

Bad model output is a result (`Prediction(parsed=False)`), never an exception; only a backend
failure for the whole batch (`LLMError`, e.g. a dead endpoint) propagates (STYLE.md P13).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.examples import ExampleIndex
from bundlekd.agent.prompting import (
    KnowledgeSnippet,
    PromptParts,
    build_prompt,
    prompt_version,
    request_from_prompt,
)
from bundlekd.data.answer import parse_answer
from bundlekd.data.schema import Prediction, Session
from bundlekd.errors import ConfigError, LLMError
from bundlekd.llm.base import LLM, ChatRequest, Completion

logger = logging.getLogger(__name__)


@runtime_checkable
class KnowledgeSource(Protocol):
    """Where icl knowledge comes from (the pipeline adapts the knowledge base to this)."""

    def lookup(self, session: Session, k: int) -> list[KnowledgeSnippet]:
        """Up to k snippets for a session, most relevant first. Gets the public view only."""
        ...


@dataclass(frozen=True, slots=True)
class PreparedSession:
    """One session with its prompt, ready to send."""

    session: Session
    parts: PromptParts
    request: ChatRequest


class StudentAgent:
    """Generates bundles for sessions with any `LLM` backend.

    Args:
        llm: The backend (local transformers, OpenAI-compatible server, a fake in tests).
        config: Prompting and decoding settings.
        example_index: Nearest training sessions (needed by few_shot/icl with n_examples > 0).
        knowledge_source: Retrieved knowledge (needed by icl with top_k > 0).

    Raises:
        ConfigError: When the mode needs an example index or knowledge source that is missing.
    """

    def __init__(
        self,
        llm: LLM,
        config: AgentConfig | None = None,
        example_index: ExampleIndex | None = None,
        knowledge_source: KnowledgeSource | None = None,
    ) -> None:
        self.llm = llm
        self.config = config or AgentConfig(mode="few_shot")
        if self.config.uses_examples and example_index is None:
            raise ConfigError(
                f"mode {self.config.mode} with n_examples={self.config.n_examples} needs an "
                "example index of training sessions (or use mode zero_shot / n_examples=0)"
            )
        if self.config.uses_knowledge and knowledge_source is None:
            raise ConfigError("mode icl needs a knowledge source (a knowledge base)")
        self.example_index = example_index
        self.knowledge_source = knowledge_source

    @property
    def prompt_version(self) -> str:
        return prompt_version(self.config)

    def describe(self) -> dict[str, object]:
        """Provenance for manifests: model, settings, prompt version."""
        return {
            "model": self.llm.model_id,
            "backend": self.llm.name,
            "runtime": self.llm.runtime(),
            "method": self.config.method,
            "prompt_version": self.prompt_version,
            "config": self.config.model_dump(mode="json"),
            "n_example_candidates": len(self.example_index) if self.example_index else 0,
        }

    def prepare(self, sessions: Sequence[Session]) -> list[PreparedSession]:
        """Retrieve examples and knowledge, then build each session's request."""
        public = [s.public() for s in sessions]
        if self.config.uses_examples and self.example_index is not None:
            examples = self.example_index.nearest_batch(public, self.config.n_examples)
        else:
            examples = [[] for _ in public]
        prepared = []
        for session, shots in zip(public, examples, strict=True):
            knowledge: list[KnowledgeSnippet] = []
            if self.config.uses_knowledge and self.knowledge_source is not None:
                knowledge = list(self.knowledge_source.lookup(session, self.config.top_k))
            parts = build_prompt(session, examples=shots, knowledge=knowledge, config=self.config)
            prepared.append(
                PreparedSession(session, parts, request_from_prompt(session, parts, self.config))
            )
        return prepared

    def generate(self, sessions: Sequence[Session]) -> list[Prediction]:
        """Predictions for `sessions`, in order, sent in batches of `config.batch_size`.

        Raises:
            LLMError: When the backend fails for a whole batch (infrastructure failure).
        """
        predictions: list[Prediction] = []
        size = self.config.batch_size
        for start in range(0, len(sessions), size):
            prepared = self.prepare(sessions[start : start + size])
            completions = self.llm.generate([p.request for p in prepared])
            if len(completions) != len(prepared):
                raise LLMError(
                    f"backend {self.llm.model_id} returned {len(completions)} completions "
                    f"for {len(prepared)} requests"
                )
            predictions += [
                self.to_prediction(p, c) for p, c in zip(prepared, completions, strict=True)
            ]
        return predictions

    def to_prediction(self, prepared: PreparedSession, completion: Completion) -> Prediction:
        """Parse one completion into a Prediction (never raises on bad output)."""
        session = prepared.session
        common = {
            "session_id": session.session_id,
            "domain": session.domain,
            "raw": completion.text or "",
            "knowledge_ids": tuple(k.id for k in prepared.parts.knowledge),
            "latency_s": round(completion.latency_s, 4),
            "tokens": completion.completion_tokens,
            "method": self.config.method,
        }
        if completion.error is not None:
            logger.warning("%s: backend error: %s", session.session_id, completion.error)
            return Prediction(parsed=False, errors=(f"backend: {completion.error}",), **common)
        result = parse_answer(completion.text or "", session)
        errors = list(result.errors)
        if completion.finish_reason == "length":
            errors.append(f"output cut off at max_new_tokens={self.config.max_new_tokens}")
        return Prediction(
            bundles=result.bundles, parsed=result.valid, errors=tuple(errors), **common
        )
