"""Per-epoch validation: the model being trained answers validation prompts as inference does.

The model in memory (adapter active) is wrapped in the local backend (`TransformersLLM`, the
one `bundlekd generate` uses) and sent the validation rows' prompts with the session's answer
schema (constrained decoding, greedy) when the generation settings ask for it. Answers are parsed
with `parse_answer` and handed to a scorer that the caller supplies (the app layer scores with
`bundlekd.eval`; finetune does not import eval). In the agent mode the tool's fallback is not
applied: validation scores the student's own answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bundlekd.agent.config import AgentConfig
from bundlekd.data.answer import answer_json_schema, parse_answer
from bundlekd.data.schema import Prediction, Session
from bundlekd.llm.base import LLM, ChatRequest, Message, Sampling

#: scorer(predictions, gold sessions) -> metrics with at least "precision" and "recall"
Scorer = Callable[[Sequence[Prediction], Sequence[Session]], dict[str, float]]


def val_requests(
    rows: Sequence[dict[str, Any]], generation: AgentConfig
) -> tuple[list[ChatRequest], list[Session]]:
    """Backend requests and gold sessions of validation rows (rows carry their session)."""
    requests, gold = [], []
    for row in rows:
        session = Session.model_validate(row["session"])
        schema = (
            answer_json_schema(len(session.items), max_bundles=generation.max_bundles)
            if generation.constrained
            else None
        )
        requests.append(
            ChatRequest(
                messages=tuple(Message(m["role"], m["content"]) for m in row["prompt"]),
                sampling=Sampling(max_new_tokens=generation.max_new_tokens, temperature=0.0),
                json_schema=schema,
                custom_id=f"{session.domain}/{session.session_id}",
                prompt_version=str(row.get("prompt_version", "")),
            )
        )
        gold.append(session)
    return requests, gold


def predict_val(
    llm: LLM, rows: Sequence[dict[str, Any]], generation: AgentConfig
) -> tuple[list[Prediction], list[Session]]:
    """(predictions, gold) for validation rows, answered by `llm`."""
    requests, gold = val_requests(rows, generation)
    completions = llm.generate(requests)
    predictions = []
    for session, completion in zip(gold, completions, strict=True):
        result = parse_answer(completion.text or "", session)
        predictions.append(
            Prediction(
                session_id=session.session_id,
                domain=session.domain,
                bundles=result.bundles,
                parsed=result.valid and completion.error is None,
                raw=completion.text or "",
                errors=result.errors,
                latency_s=round(completion.latency_s, 4),
                tokens=completion.completion_tokens,
                method="sft-val",
            )
        )
    return predictions, gold


def objective(metrics: dict[str, float]) -> float:
    """What picks the epoch: the mean of strict precision and strict unique recall (2025),
    as the grouping tool is tuned; precision alone rewards returning one safe pair."""
    return (metrics.get("precision", 0.0) + metrics.get("recall", 0.0)) / 2
