"""One ASGI middleware: the API key (401), the in-flight bound (503), the request-body size
limit (413), a deadline on reading the body (408), and the per-request metrics.

Order matters, for fairness:
1. The API key is checked first, on the headers alone: a client without it is refused before it
   takes anything (a slot, a body buffer), so no number of keyless connections can hold up a
   keyed client.
2. The in-flight bound is the first and cheapest line of declared overload: past
   `max_in_flight` API requests being handled, a new one gets 503 + Retry-After before its body
   is read or parsed. On a CPU-bound service (one interpreter, the GIL shared by the event loop
   and the model thread) parsing hundreds of waiting requests would itself slow every answer.
3. The body is read before the request takes its slot, so a client that sends part of a body
   (slowly, or never the rest) holds no slot that a complete request could use; the slot is
   taken (bound checked again) once the whole body is here.

The body is read here, up to the limit, before any route sees it: a declared Content-Length
over the limit is refused without reading, a chunked body is cut off as soon as it passes the
limit (a large upload costs at most `max_body_bytes` of memory), and a body that trickles in
slower than `body_timeout_s` is refused, so slow clients cannot hold connections without end.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from bundlekd.app.service.metrics import ServiceMetrics
from bundlekd.app.service.security import HEADER, UNAUTHORIZED, key_matches

Scope = dict[str, Any]
Message = dict[str, Any]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_KEY_HEADER = HEADER.lower().encode()


class GuardMiddleware:
    """Wraps the app: checks the key, bounds in-flight requests and bodies, counts requests."""

    def __init__(
        self,
        app: Any,
        *,
        max_body_bytes: int,
        metrics: ServiceMetrics,
        body_timeout_s: float = 30.0,
        max_in_flight: int | None = None,
        retry_after_s: int = 1,
        api_key: str | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.body_timeout_s = body_timeout_s
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.api_key = api_key
        self.in_flight = 0  # API requests (/v1/...) being handled

    def _full(self) -> bool:
        return self.max_in_flight is not None and self.in_flight >= self.max_in_flight

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]
        api = scope["path"].startswith("/v1/")

        def observe(route: str) -> None:
            self.metrics.observe(scope["method"], route, status[0], time.perf_counter() - started)

        if api and self.api_key is not None and not key_matches(_header(scope), self.api_key):
            status[0] = 401
            self.metrics.error("unauthorized")
            await _refuse(send, 401, UNAUTHORIZED, extra=[(b"www-authenticate", b"ApiKey")])
            observe("unauthorized")
            return
        if api and self._full():
            await self._overloaded(send)
            status[0] = 503
            observe("overload")
            return
        if scope["method"] in _BODY_METHODS:
            try:
                body = await asyncio.wait_for(self._read_body(scope, receive), self.body_timeout_s)
            except TimeoutError:
                status[0] = 408
                self.metrics.error("body_timeout")
                await _refuse(send, 408, f"request body not received in {self.body_timeout_s:g} s")
                observe("body_timeout")
                return
            if body is None:
                status[0] = 413
                self.metrics.error("body_too_large")
                await _refuse(
                    send, 413, f"request body over {self.max_body_bytes} bytes (max_body_bytes)"
                )
                observe("body_too_large")
                return
            receive = _replay(body, receive)
            if api and self._full():  # the slots filled up while this body arrived
                await self._overloaded(send)
                status[0] = 503
                observe("overload")
                return

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        if api:
            self.in_flight += 1
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            if api:
                self.in_flight -= 1
            route = scope.get("route")
            observe(getattr(route, "path", None) or "unmatched")

    async def _overloaded(self, send: Any) -> None:
        self.metrics.error("overload")
        message = f"overloaded: {self.in_flight} requests in flight (max_in_flight); retry later"
        await _refuse(send, 503, message, retry_after_s=self.retry_after_s)

    async def _read_body(self, scope: Scope, receive: Any) -> bytes | None:
        """The whole body, or None when it is over the limit."""
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > self.max_body_bytes:
                        return None
                except ValueError:
                    pass  # the server rejects a malformed header before this runs
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    sent = [False]

    async def replayed() -> Message:
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for the disconnect, as Starlette expects

    return replayed


def _header(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == _KEY_HEADER:
            return bytes(value)
    return None


async def _refuse(
    send: Any,
    status: int,
    message: str,
    retry_after_s: int | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    detail: Any = (
        message if status in (401, 503) else [{"loc": ["body"], "msg": message, "type": "limit"}]
    )
    payload = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        # the body may be unread: the client must not send its next request on this connection
        (b"connection", b"close"),
        *(extra or []),
    ]
    if retry_after_s is not None:
        headers.append((b"retry-after", str(retry_after_s).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
