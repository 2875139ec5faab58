"""An LLM as intent judge: do two intents name the same shopping purpose? (yes/no, JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bundlekd.llm.base import LLM, ChatRequest, Message, Sampling

_SCHEMA = {
    "type": "object",
    "properties": {"same": {"type": "boolean"}},
    "required": ["same"],
    "additionalProperties": False,
}
_SYSTEM = (
    "You compare two short descriptions of why products were bought together. Answer with "
    'JSON {"same": true} when they name the same purpose, else {"same": false}.'
)


class LLMIntentJudge:
    """Calls any backend once per (predicted, gold) pair; unreadable answers count as no."""

    def __init__(self, llm: LLM, batch_size: int = 16) -> None:
        self.llm = llm
        self.batch_size = batch_size

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        requests = [
            ChatRequest(
                messages=(
                    Message("system", _SYSTEM),
                    Message("user", f"A: {predicted}\nB: {gold}"),
                ),
                sampling=Sampling(max_new_tokens=16),
                json_schema=_SCHEMA,
                custom_id="judge",
            )
            for predicted, gold in pairs
        ]
        verdicts: list[float] = []
        for start in range(0, len(requests), self.batch_size):
            for completion in self.llm.generate(requests[start : start + self.batch_size]):
                verdicts.append(_verdict(completion.text))
        return verdicts


def _verdict(text: str) -> float:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return 0.0
    return 1.0 if isinstance(value, dict) and value.get("same") is True else 0.0
