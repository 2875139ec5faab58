"""create_app: the FastAPI application of `bundlekd serve`.

    app = create_app(ServiceSettings(), lambda: load_runtime(config))

`/health` answers as soon as the process is up; `/ready` turns 200 once the loader (model, KB,
agents) has finished, which it does in a background thread so the port is open meanwhile. A
load that fails turns /health to 503 and calls `on_load_failed` (the server then exits).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from bundlekd.app.service.settings import ServiceSettings
from bundlekd.app.service.state import Loader, ServiceState

DESCRIPTION = """Product bundles for shopping sessions, from a bundlekd knowledge base.

`POST /v1/bundles` takes one session or a list and returns bundles with intents, the grouping
tool's proposals and the knowledge ids used. Limits answer 413/422 naming the field; overload,
timeouts and loading answer 503 with `Retry-After`. With `sessions`, a session over a
per-session limit (items, title length, a domain the KB does not serve) is answered with its own
`error` and no bundles, and the others are answered. `X-API-Key` is required when the service
was started with `BUNDLEKD_API_KEY` set.
"""


def create_app(
    settings: ServiceSettings,
    loader: Loader,
    *,
    background_load: bool = True,
    modes: list[str] | None = None,
    on_load_failed: Callable[[str], None] | None = None,
) -> Any:
    """The FastAPI app (typed Any: fastapi is an optional extra, imported here).

    Args:
        settings: Limits, overload and batching settings.
        loader: Builds the `Runtime` (blocking); called once at startup.
        background_load: Load in a thread while the port already answers /health (the server);
            False loads before the first request (tests).
        modes: The modes the runtime will serve, for the OpenAPI schema (default: any).
        on_load_failed: Called with the one-line cause when the loader raises.
    """
    from fastapi import Depends, FastAPI

    import bundlekd
    from bundlekd.app.service.errors import install_handlers
    from bundlekd.app.service.middleware import GuardMiddleware
    from bundlekd.app.service.openapi import configured_openapi
    from bundlekd.app.service.routes import api, ops
    from bundlekd.app.service.security import require_api_key

    state = ServiceState(settings, loader, on_load_failed=on_load_failed)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        task = await state.start(background_load)
        try:
            yield
        finally:
            if task is not None and not task.done():
                task.cancel()
            await state.stop()

    app = FastAPI(
        title="bundlekd",
        version=bundlekd.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = state
    app.include_router(ops)
    # The key is checked (and declared in the schema) only when one is configured.
    app.include_router(api, dependencies=[Depends(require_api_key)] if state.api_key else [])
    app.openapi = lambda: configured_openapi(app, settings, modes)  # type: ignore[method-assign]
    install_handlers(app, state.metrics, settings.retry_after_s)
    app.add_middleware(
        GuardMiddleware,
        api_key=state.api_key,
        max_body_bytes=settings.max_body_bytes,
        metrics=state.metrics,
        body_timeout_s=settings.request_timeout_s,
        max_in_flight=settings.max_in_flight,
        retry_after_s=settings.retry_after_s,
    )
    return app
