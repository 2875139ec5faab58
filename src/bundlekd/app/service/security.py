"""The API key: from the environment only, compared in constant time (`hmac.compare_digest`).

The key is checked twice: first by `GuardMiddleware`, on the request's headers, before the
request takes an in-flight slot or its body is read (a client without the key must not be able
to hold what keyed clients need); then by `require_api_key`, which declares it in the OpenAPI
schema.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

HEADER = "X-API-Key"
UNAUTHORIZED = f"missing or wrong {HEADER}"

_header = APIKeyHeader(name=HEADER, auto_error=False, description="The service's API key.")


def key_matches(given: str | bytes | None, expected: str) -> bool:
    """Whether the key sent (header value) is the expected one (constant time)."""
    if given is None:
        return False
    raw = given if isinstance(given, bytes) else given.encode()
    return hmac.compare_digest(raw, expected.encode())


def holds_key(request: Request) -> bool:
    """A key is configured and the request carries it (what may see internals: paths)."""
    expected: str | None = request.app.state.service.api_key
    return expected is not None and key_matches(request.headers.get(HEADER), expected)


async def require_api_key(
    request: Request, given: Annotated[str | None, Depends(_header)] = None
) -> None:
    """Pass when no key is configured, or when X-API-Key equals it.

    Raises:
        HTTPException: 401 on a missing or wrong key.
    """
    expected: str | None = request.app.state.service.api_key
    if expected is None:
        return
    if not key_matches(given, expected):
        request.app.state.service.metrics.error("unauthorized")
        raise HTTPException(401, UNAUTHORIZED, {"WWW-Authenticate": "ApiKey"})
