"""A scripted backend for tests and demos: fixed replies, full request history."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from bundlekd.errors import LLMError
from bundlekd.llm.base import LLM, ChatRequest, Completion


class ScriptedLLM(LLM):
    """Answers from a list (in call order) or a function of the request.

    Token counts are whitespace word counts. A reply longer than `max_new_tokens` words is cut
    and gets finish_reason "length", so truncation paths can be tested too.

    Args:
        replies: the replies in order, or `fn(request) -> reply`.
        cycle: with a list, start over when it runs out instead of raising LLMError.
    """

    name = "scripted"
    supports_json_schema = False
    supports_adapters = True  # it records the adapter; it changes nothing

    def __init__(
        self, replies: Sequence[str] | Callable[[ChatRequest], str], *, cycle: bool = False
    ) -> None:
        self._replies = replies if callable(replies) else list(replies)
        self._cycle = cycle
        self._next = 0
        self._lock = threading.Lock()
        self.history: list[ChatRequest] = []

    def _reply(self, request: ChatRequest) -> str:
        if callable(self._replies):
            return self._replies(request)
        if self._next >= len(self._replies):
            if not self._cycle or not self._replies:
                raise LLMError(f"ScriptedLLM ran out of replies after {len(self._replies)}")
            self._next = 0
        reply = self._replies[self._next]
        self._next += 1
        return reply

    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Reply to each request in order and record it in `history`."""
        completions = []
        with self._lock:
            for request in requests:
                self.history.append(request)
                words = self._reply(request).split(" ")
                limit = request.sampling.max_new_tokens
                finish = "length" if len(words) > limit else "stop"
                text = " ".join(words[:limit])
                completions.append(
                    Completion(
                        text=text,
                        prompt_tokens=sum(len(m.content.split()) for m in request.messages),
                        completion_tokens=len(text.split()),
                        finish_reason=finish,
                        model=self.model_id,
                    )
                )
        return completions
