"""Any OpenAI-compatible chat server (vLLM, llama.cpp server, OpenAI itself) as a backend.

A batch is fanned out over a thread pool. Retries are the OpenAI SDK's own (`max_retries`):
connection errors, timeouts, 408, 409, 429 and 5xx, with exponential backoff from 0.5 s that
honours `Retry-After`.

A transport failure is never an answer: when the retries are used up (a timeout, 408/409/429,
5xx, a dropped connection) the whole batch raises `TransportError`, so a batch run stops, keeps
what finished and retries exactly the failed sessions on a re-run. A server that cannot be
reached, or that refuses the key or the model name (401/403/404), raises
BackendUnavailableError (a TransportError). Only a request the server rejects for its content
(400, 413, 422, ...) becomes a Completion with `error` set, and the rest of the batch goes on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

from bundlekd.errors import BackendUnavailableError, ConfigError, LLMError, TransportError
from bundlekd.llm.base import LLM, ChatRequest, Completion
from bundlekd.sanitize import redact

logger = logging.getLogger(__name__)

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
# What the SDK retries (and a later re-run may get through): never a final answer.
_TRANSIENT_STATUS = frozenset({408, 409, 429})
# The server refuses the key or the model name: every request would fail the same way.
_SETUP_STATUS = frozenset({401, 403, 404})
DEFAULT_BASE_URL = "https://api.openai.com/v1"


def _is_local(base_url: str) -> bool:
    host = urlparse(base_url).hostname or ""
    return host in _LOCAL_HOSTS or host.startswith("127.")


class OpenAICompatLLM(LLM):
    """Chat completions over HTTP.

    Args:
        model: the served model name.
        base_url: e.g. "http://127.0.0.1:8000/v1"; default $BUNDLEKD_BASE_URL, else OpenAI.
        api_key_env: env var holding the key. When unset and the server is local, "EMPTY"
            is sent (vLLM accepts any key).
        concurrency: requests in flight at once.
        timeout_s: per-request timeout.
        max_retries: retries after the first attempt, done by the OpenAI SDK (connection
            errors, timeouts, 408, 409, 429, 5xx; exponential backoff from 0.5 s).

    `ChatRequest.adapter` selects the served model name (vLLM serves each LoRA adapter under
    its own name, `--lora-modules NAME=PATH`). `json_schema` is sent as a strict
    `response_format`, which vLLM enforces with its structured-output engine.
    """

    name = "openai"
    supports_json_schema = True
    supports_adapters = True

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout_s: float = 60.0,
        max_retries: int = 3,
    ) -> None:
        if not model:
            raise ConfigError("OpenAICompatLLM needs a model name")
        if concurrency < 1 or max_retries < 0 or timeout_s <= 0:
            raise ConfigError("concurrency >= 1, max_retries >= 0 and timeout_s > 0 are required")
        self.model = model
        self.base_url = (
            base_url or os.environ.get("BUNDLEKD_BASE_URL") or DEFAULT_BASE_URL
        ).rstrip("/")
        # Credentials pasted into the URL are sent, never shown (ids, errors, manifests).
        self.shown_url = redact(self.base_url)
        key = os.environ.get(api_key_env)
        if not key:
            if not _is_local(self.base_url):
                raise ConfigError(f"{self.shown_url} needs an API key: set ${api_key_env}")
            key = "EMPTY"
        self._api_key = key
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._client: Any = None
        self._client_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"{self.model}@{self.shown_url}"

    def _get_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                try:
                    import openai
                except ImportError as exc:
                    raise BackendUnavailableError(
                        f"the OpenAI-compatible backend needs openai ({exc}): pip install openai"
                    ) from exc
                self._client = openai.OpenAI(
                    api_key=self._api_key,
                    base_url=self.base_url,
                    timeout=self.timeout_s,
                    max_retries=self.max_retries,
                )
            return self._client

    def ping(self) -> list[str]:
        """List the served model names; raises BackendUnavailableError when unreachable."""
        client = self._get_client()
        import openai

        try:
            # One quick try: a health check should not wait out the retry backoff.
            quick = client.with_options(timeout=min(self.timeout_s, 10.0), max_retries=0)
            return [m.id for m in quick.models.list()]
        except openai.APIConnectionError as exc:
            raise BackendUnavailableError(f"cannot reach {self.shown_url} : {exc}") from exc
        except openai.APIStatusError as exc:
            raise BackendUnavailableError(
                f"{self.shown_url} answered HTTP {exc.status_code} to GET /models"
            ) from exc

    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Answer every request, in order, `concurrency` at a time."""
        if not requests:
            return []
        self._get_client()
        if len(requests) == 1 or self.concurrency == 1:
            return [self._complete_one(request) for request in requests]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            futures = [pool.submit(self._complete_one, request) for request in requests]
            try:
                return [future.result() for future in futures]
            except LLMError:
                for future in futures:  # the server failed: do not try the rest
                    future.cancel()
                raise

    def _request_kwargs(self, request: ChatRequest) -> dict[str, Any]:
        sampling = request.sampling
        kwargs: dict[str, Any] = {
            "model": request.adapter or self.model,
            "messages": [m.to_dict() for m in request.messages],
            "max_tokens": sampling.max_new_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
        }
        if sampling.seed is not None:
            kwargs["seed"] = sampling.seed
        if request.json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "bundles", "schema": request.json_schema, "strict": True},
            }
        return kwargs

    def _complete_one(self, request: ChatRequest) -> Completion:
        client = self._get_client()
        import openai

        kwargs = self._request_kwargs(request)
        started = time.perf_counter()
        try:
            response = client.chat.completions.create(**kwargs)
        except openai.APITimeoutError as exc:  # before APIConnectionError, its base class
            raise TransportError(
                f"{self.shown_url}: request timed out after {self.timeout_s:g} s "
                f"({self.max_retries + 1} tries)"
            ) from exc
        except openai.APIConnectionError as exc:
            raise BackendUnavailableError(
                f"cannot reach {self.shown_url} : {exc.__cause__ or exc}"
            ) from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status in _SETUP_STATUS:
                raise BackendUnavailableError(
                    f"{self.shown_url} answered HTTP {status} for model {kwargs['model']!r}: "
                    f"check the API key and the served model name ({_detail(exc)})"
                ) from exc
            if status >= 500 or status in _TRANSIENT_STATUS:
                raise TransportError(
                    f"{self.shown_url} answered HTTP {status} after "
                    f"{self.max_retries + 1} tries ({_detail(exc)})"
                ) from exc
            return _error(f"HTTP {status} from {self.shown_url}", exc, kwargs)
        latency = time.perf_counter() - started
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_s=latency,
            finish_reason=choice.finish_reason or "stop",
            model=response.model or kwargs["model"],
        )

    def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            self._client.close()
            self._client = None


def _detail(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def _error(message: str, exc: Exception, kwargs: dict[str, Any]) -> Completion:
    """A request the server rejected for its content: a per-request error, the batch goes on."""
    detail = _detail(exc)
    logger.warning("%s: %s", message, detail)
    return Completion(
        text="", finish_reason="error", model=kwargs["model"], error=f"{message}: {detail}"
    )
