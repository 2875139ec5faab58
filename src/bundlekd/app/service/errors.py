"""How failures become HTTP answers: one JSON shape (`{"detail": ...}`), never a traceback.

- a body that does not fit the schema, or a configured limit -> 422 (413 for the body size),
  with the field's location;
- bad knowledge (test-split rows, unknown split) -> 422 with the library's one-line message;
- not loaded yet, queue full, request timed out, model backend down -> 503 + Retry-After;
- anything else -> 500 with a generic message (the traceback goes to the log only).
"""

from __future__ import annotations

import logging
from typing import Any

from bundlekd.app.service.limits import LimitError
from bundlekd.app.service.metrics import ServiceMetrics
from bundlekd.errors import BundleKDError

logger = logging.getLogger(__name__)


class LoadFailedError(BundleKDError):
    """The model or the KB could not be loaded: the service cannot answer, so it stops."""


class UnavailableError(Exception):
    """Declared overload or not ready: 503 with Retry-After."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def install_handlers(app: Any, metrics: ServiceMetrics, retry_after_s: int) -> None:
    """Register the exception handlers on a FastAPI app."""
    from fastapi.encoders import jsonable_encoder
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    from bundlekd.errors import LLMError

    retry = {"Retry-After": str(retry_after_s)}

    async def validation(_: Any, exc: RequestValidationError) -> JSONResponse:
        metrics.error("validation")
        errors = [
            {k: v for k, v in error.items() if k in ("loc", "msg", "type")}
            for error in exc.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    async def limit(_: Any, exc: LimitError) -> JSONResponse:
        metrics.error("limit")
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status)

    async def unavailable(_: Any, exc: UnavailableError) -> JSONResponse:
        metrics.error(exc.kind)
        return JSONResponse({"detail": str(exc)}, status_code=503, headers=retry)

    async def library(_: Any, exc: BundleKDError) -> JSONResponse:
        if isinstance(exc, LLMError):
            metrics.error("backend")
            detail = f"the model backend failed: {exc}"
            return JSONResponse({"detail": detail}, status_code=503, headers=retry)
        metrics.error("rejected")
        return JSONResponse({"detail": str(exc)}, status_code=422)

    async def unexpected(_: Any, exc: Exception) -> JSONResponse:
        logger.error("unexpected error", exc_info=exc)
        metrics.error("internal")
        return JSONResponse({"detail": "internal error (logged by the service)"}, status_code=500)

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(LimitError, limit)
    app.add_exception_handler(UnavailableError, unavailable)
    app.add_exception_handler(BundleKDError, library)
    app.add_exception_handler(Exception, unexpected)
