"""`bundlekd serve`: bundles over HTTP (FastAPI + uvicorn, extra [serve])."""

from __future__ import annotations

from typing import Annotated

import typer

from bundlekd.cli.common import errors_to_exit, load_cli_config
from bundlekd.cli.generate import EmbedderOpt, KBOpt, ModelOpt, ModeOpt, ThreadsOpt


def serve_command(
    kb: KBOpt = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Address (default 127.0.0.1: this machine only).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (default 8000).")] = None,
    mode: ModeOpt = None,
    allow_mode: Annotated[
        list[str] | None,
        typer.Option("--allow-mode", help="A mode requests may ask for (repeatable)."),
    ] = None,
    model: ModelOpt = None,
    embedder: EmbedderOpt = None,
    threads: ThreadsOpt = None,
    max_queue: Annotated[
        int | None,
        typer.Option(
            "--max-queue",
            help="Sessions queued at once before 503 (default 256; at least max_sessions).",
        ),
    ] = None,
    max_wait: Annotated[
        float | None,
        typer.Option("--max-wait", help="Expected queue wait (s) past which requests get 503 (5)."),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds per request before 503 (30).")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve POST /v1/bundles, /v1/knowledge, search, /health, /ready, /metrics and /docs.

    The API key, if any, comes from $BUNDLEKD_API_KEY (clients send it as X-API-Key); other
    HTTP settings from $BUNDLEKD_SERVE_* (e.g. BUNDLEKD_SERVE_MAX_ITEMS).
    """
    from bundlekd.app.service.server import serve
    from bundlekd.app.service.settings import ServiceSettings

    with errors_to_exit():
        loaded = load_cli_config(
            kb__dir=kb,
            generation__mode=mode,
            student__model=model,
            student__threads=threads,
            embedder__name=embedder,
        )
        flags = {
            "host": host,
            "port": port,
            "modes": tuple(allow_mode) if allow_mode else None,
            "max_queue_sessions": max_queue,
            "max_wait_s": max_wait,
            "request_timeout_s": timeout,
        }
        settings = _settings(ServiceSettings, {k: v for k, v in flags.items() if v is not None})
        serve(loaded, settings, log_level=log_level)


def _settings(cls, flags):  # type: ignore[no-untyped-def]
    """Settings from $BUNDLEKD_SERVE_* and the flags; a bad value is a one-line ConfigError."""
    from pydantic import ValidationError

    from bundlekd.errors import ConfigError

    try:
        return cls(**flags)
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ConfigError(f"invalid service setting: {problems}") from None


def _problem(error):  # type: ignore[no-untyped-def]
    """`field: message`; a rule across fields (no field) is stated by its message alone."""
    where = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


__all__ = ["serve_command"]
