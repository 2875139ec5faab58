"""ToolAgent: the grouping tool proposes bundles; the LLM names them (or edits them).

Mode `tool` uses no LLM: each proposal becomes a bundle with the intent of its nearest training
bundle. Mode `agent` sends the proposals, their similar training bundles' intents and retrieved
knowledge to the LLM:
- variant `name`: the LLM returns one intent per proposal (the bundles stay the tool's);
- variant `edit`: the LLM returns final bundles in the student answer format, with the
  proposals as suggestions.

An LLM answer that cannot be used falls back to the tool's output for that session and says so
in the prediction's errors: the agent never returns less than the tool. Every prediction
records the proposals and the knowledge ids it used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Protocol

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.prompting import (
    KnowledgeSnippet,
    PromptParts,
    agent_request,
    build_agent_prompt,
    prompt_version,
)
from bundlekd.agent.student import KnowledgeSource
from bundlekd.data.answer import MAX_INTENT_CHARS, parse_answer
from bundlekd.data.schema import Bundle, Prediction, Session
from bundlekd.errors import ConfigError, LLMError
from bundlekd.knowledge_base.grouping.tool import Proposal
from bundlekd.llm.base import LLM, Completion

logger = logging.getLogger(__name__)


class Proposer(Protocol):
    """What proposes bundles (the KB's `GroupingTool`, or a fake in tests)."""

    def propose(self, sessions: Sequence[Session]) -> list[list[Proposal]]: ...

    def describe(self) -> dict[str, object]: ...


class ToolAgent:
    """Generates bundles for sessions in the `tool` and `agent` modes.

    Args:
        proposer: The grouping tool.
        config: Mode `tool` or `agent`, the variant, knowledge budget and decoding settings.
        llm: The backend (needed by mode `agent`).
        knowledge_source: Retrieved rules, thoughts and patterns for the prompt (optional).
    """

    def __init__(
        self,
        proposer: Proposer,
        config: AgentConfig,
        llm: LLM | None = None,
        knowledge_source: KnowledgeSource | None = None,
    ) -> None:
        if not config.uses_tool:
            raise ConfigError(f"ToolAgent runs modes tool and agent, not {config.mode}")
        if config.uses_llm and llm is None:
            raise ConfigError("mode agent needs an LLM backend")
        self.proposer = proposer
        self.config = config
        self.llm = llm
        self.knowledge_source = knowledge_source

    def describe(self) -> dict[str, object]:
        """Provenance for manifests: the tool, the model, settings, prompt version."""
        return {
            "model": self.llm.model_id if self.llm is not None else "",
            "backend": self.llm.name if self.llm is not None else "",
            "runtime": self.llm.runtime() if self.llm is not None and self.config.uses_llm else {},
            "method": self.config.method,
            "prompt_version": prompt_version(self.config) if self.config.uses_llm else "",
            "config": self.config.model_dump(mode="json"),
            "tool": self.proposer.describe(),
        }

    def generate(self, sessions: Sequence[Session]) -> list[Prediction]:
        """Predictions for `sessions`, in order.

        Raises:
            LLMError: the backend failed for a whole batch (infrastructure failure).
        """
        predictions: list[Prediction] = []
        size = self.config.batch_size
        for start in range(0, len(sessions), size):
            predictions += self._batch([s.public() for s in sessions[start : start + size]])
        return predictions

    def _batch(self, sessions: list[Session]) -> list[Prediction]:
        proposals = self.proposer.propose(sessions)
        tool_predictions = [
            self._tool_prediction(s, p) for s, p in zip(sessions, proposals, strict=True)
        ]
        if not self.config.uses_llm:
            return tool_predictions
        assert self.llm is not None
        pending: list[tuple[int, PromptParts]] = []
        requests = []
        for index, (session, mine) in enumerate(zip(sessions, proposals, strict=True)):
            if not mine and self.config.variant == "name":
                continue  # nothing to name: no LLM call
            knowledge = self._knowledge(session)
            hints = [[h for h in (p.intent, *p.alternatives) if h] for p in mine]
            parts = build_agent_prompt(
                session,
                [(p.positions, h) for p, h in zip(mine, hints, strict=True)],
                knowledge=knowledge,
                config=self.config,
            )
            pending.append((index, parts))
            requests.append(agent_request(session, parts, hints, self.config))
        completions = self.llm.generate(requests) if requests else []
        if len(completions) != len(requests):
            raise LLMError(
                f"backend {self.llm.model_id} returned {len(completions)} completions "
                f"for {len(requests)} requests"
            )
        results = list(tool_predictions)
        for (index, parts), completion in zip(pending, completions, strict=True):
            results[index] = self._agent_prediction(
                sessions[index], proposals[index], tool_predictions[index], parts, completion
            )
        return results

    def _knowledge(self, session: Session) -> list[KnowledgeSnippet]:
        if self.knowledge_source is None or not self.config.uses_knowledge:
            return []
        return list(self.knowledge_source.lookup(session, self.config.top_k))

    def _tool_prediction(self, session: Session, proposals: list[Proposal]) -> Prediction:
        bundles = tuple(
            Bundle(items=p.item_ids(session), intent=p.intent[:MAX_INTENT_CHARS]) for p in proposals
        )
        used = tuple(dict.fromkeys(e for p in proposals for e in p.exemplar_ids[:1]))
        return Prediction(
            session_id=session.session_id,
            domain=session.domain,
            bundles=bundles,
            proposals=bundles,
            knowledge_ids=used,
            method=self.config.method,
        )

    def _agent_prediction(
        self,
        session: Session,
        proposals: list[Proposal],
        fallback: Prediction,
        parts: PromptParts,
        completion: Completion,
    ) -> Prediction:
        knowledge_ids = tuple(
            dict.fromkeys([*fallback.knowledge_ids, *(k.id for k in parts.knowledge)])
        )
        common = {
            "raw": completion.text or "",
            "knowledge_ids": knowledge_ids,
            "latency_s": round(completion.latency_s, 4),
            "tokens": completion.completion_tokens,
        }
        if completion.error is not None:
            errors = (f"backend: {completion.error}; kept the tool's bundles",)
            return fallback.model_copy(update={**common, "errors": errors})
        if self.config.variant == "name":
            intents, problem = _read_intents(completion.text or "", len(proposals))
            if problem:
                return fallback.model_copy(
                    update={**common, "errors": (f"{problem}; kept the tool's intents",)}
                )
            bundles = tuple(
                b.model_copy(update={"intent": intent})
                for b, intent in zip(fallback.bundles, intents, strict=True)
            )
            return fallback.model_copy(update={**common, "bundles": bundles})
        result = parse_answer(completion.text or "", session)
        if not result.valid or not result.bundles:
            reason = "; ".join(result.errors) or "no bundle in the answer"
            return fallback.model_copy(
                update={**common, "errors": (f"{reason}; kept the tool's bundles",)}
            )
        return fallback.model_copy(
            update={**common, "bundles": result.bundles, "errors": result.errors}
        )


def _read_intents(text: str, expected: int) -> tuple[list[str], str]:
    """The intents of a naming answer, or an explanation of why it cannot be used."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return [], "unparsable naming answer"
    intents = value.get("intents") if isinstance(value, dict) else None
    if not isinstance(intents, list) or len(intents) != expected:
        return [], f"expected {expected} intents"
    cleaned = [" ".join(str(i).split())[:MAX_INTENT_CHARS] for i in intents]
    if any(not i for i in cleaned):
        return [], "an empty intent"
    return cleaned, ""
