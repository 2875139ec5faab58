"""Any LangChain chat model (`BaseChatModel`, langchain-core only) as a backend.

Kept simple on purpose:
- the batch goes through `chat_model.batch` (LangChain runs it concurrently);
- `Sampling` is ignored: temperature, max tokens etc. are the chat model's own settings;
- `json_schema` is honoured through `with_structured_output` when the model implements it
  (tool calling), and otherwise ignored with a logged warning;
- `adapter` is ignored.
A request that raises becomes a Completion with `error` set and the rest of the batch goes
on, unless the failure is one of transport (a timeout, a dropped connection, HTTP 429 or 5xx):
that raises TransportError for the batch, as it never is the model's answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from bundlekd.errors import BackendUnavailableError, TransportError
from bundlekd.llm.base import LLM, ChatRequest, Completion, Message

logger = logging.getLogger(__name__)

_LENGTH_REASONS = {"length", "max_tokens", "MAX_TOKENS"}
# Exception classes (by name, any provider SDK) that mean "no answer came back".
_TRANSPORT_NAMES = frozenset(
    {
        "APIConnectionError",
        "APITimeoutError",
        "ConnectError",
        "ConnectTimeout",
        "InternalServerError",
        "RateLimitError",
        "ReadTimeout",
        "ServiceUnavailableError",
        "TimeoutException",
    }
)


def is_transport_failure(exc: BaseException) -> bool:
    """True when `exc` says the request got no answer (not that the model answered badly)."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if any(cls.__name__ in _TRANSPORT_NAMES for cls in type(exc).__mro__):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status >= 500 or status in (408, 409, 429))


def to_langchain_messages(messages: Sequence[Message]) -> list[Any]:
    """Our messages as langchain-core message objects."""
    try:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the LangChain backend needs langchain-core ({exc}): pip install langchain-core"
        ) from exc
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages]


def _invoke_or_exception(runnable: Any, messages: list[Any], config: dict[str, Any]) -> Any:
    try:
        return runnable.invoke(messages, config=config)
    except Exception as exc:  # reported per request, like batch(return_exceptions=True)
        return exc


class LangChainLLM(LLM):
    """Wraps a LangChain chat model.

    Args:
        chat_model: any `langchain_core.language_models.BaseChatModel`.
        max_concurrency: passed to `batch` as `max_concurrency`.
    """

    name = "langchain"
    supports_json_schema = False  # only where with_structured_output works; see module doc

    def __init__(self, chat_model: Any, max_concurrency: int = 8) -> None:
        self.chat_model = chat_model
        self.max_concurrency = max_concurrency

    @property
    def model_id(self) -> str:
        for attribute in ("model_name", "model"):
            value = getattr(self.chat_model, attribute, None)
            if isinstance(value, str) and value:
                return value
        return type(self.chat_model).__name__

    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Answer every request, in order; one `batch` call per distinct json_schema."""
        groups: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            key = json.dumps(request.json_schema) if request.json_schema else ""
            groups.setdefault(key, []).append(index)
        results: list[Completion | None] = [None] * len(requests)
        for indices in groups.values():
            batch = [requests[i] for i in indices]
            for index, completion in zip(indices, self._run(batch), strict=True):
                results[index] = completion
        return [r for r in results if r is not None]

    def _runnable(self, schema: dict[str, Any] | None) -> tuple[Any, bool]:
        """The runnable for one group, and whether it returns structured output."""
        if schema is None:
            return self.chat_model, False
        try:
            titled = {"title": "bundles", **schema}  # tool calling needs a function name
            return self.chat_model.with_structured_output(titled, include_raw=True), True
        except NotImplementedError:
            logger.warning(
                "%s has no structured output: json_schema ignored", type(self.chat_model).__name__
            )
            return self.chat_model, False

    def _run(self, batch: list[ChatRequest]) -> list[Completion]:
        import time

        runnable, structured = self._runnable(batch[0].json_schema)
        inputs = [to_langchain_messages(request.messages) for request in batch]
        started = time.perf_counter()
        config = {"max_concurrency": self.max_concurrency}
        try:
            outputs = runnable.batch(inputs, config=config, return_exceptions=True)
        except Exception as exc:  # some models ignore return_exceptions: go one by one
            logger.warning("batch failed (%s); retrying the requests one at a time", exc)
            outputs = [_invoke_or_exception(runnable, messages, config) for messages in inputs]
        # LangChain runs the batch concurrently: per-request time is not observable.
        per_request = (time.perf_counter() - started) / max(len(batch), 1)
        failed = [o for o in outputs if isinstance(o, Exception) and is_transport_failure(o)]
        if failed:
            raise TransportError(
                f"{self.model_id}: {len(failed)} of {len(batch)} requests got no answer "
                f"({type(failed[0]).__name__}: {failed[0]})"
            ) from failed[0]
        completions = []
        for output in outputs:
            if isinstance(output, Exception):
                completions.append(
                    Completion(
                        text="",
                        finish_reason="error",
                        model=self.model_id,
                        error=f"{type(output).__name__}: {output}",
                    )
                )
                continue
            message, text = output, None
            if structured:
                message = output["raw"]
                if output.get("parsed") is not None:
                    text = json.dumps(output["parsed"], ensure_ascii=False)
            completions.append(self._completion(message, text, per_request))
        return completions

    def _completion(self, message: Any, text: str | None, latency_s: float) -> Completion:
        content = message.content if text is None else text
        if not isinstance(content, str):  # content blocks: keep the text parts
            content = "".join(
                block.get("text", "") if isinstance(block, dict) else str(block)
                for block in content
            )
        usage = getattr(message, "usage_metadata", None) or {}
        metadata = getattr(message, "response_metadata", None) or {}
        reason = metadata.get("finish_reason") or metadata.get("stop_reason") or "stop"
        return Completion(
            text=content,
            prompt_tokens=int(usage.get("input_tokens", 0)),
            completion_tokens=int(usage.get("output_tokens", 0)),
            latency_s=latency_s,
            finish_reason="length" if reason in _LENGTH_REASONS else "stop",
            model=metadata.get("model_name") or self.model_id,
        )
