"""The API key: from the environment only, compared in constant time (`hmac.compare_digest`)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The service's API key.")


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
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        request.app.state.service.metrics.error("unauthorized")
        raise HTTPException(401, "missing or wrong X-API-Key", {"WWW-Authenticate": "ApiKey"})
