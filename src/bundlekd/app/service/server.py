"""serve: run the service under uvicorn (what `bundlekd serve` calls)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bundlekd.app.service.settings import ServiceSettings
from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.config import LoadedConfig

logger = logging.getLogger(__name__)


def check_binding(settings: ServiceSettings) -> None:
    """Refuse to listen beyond loopback without an API key.

    Raises:
        ConfigError: a non-loopback host and no key in `settings.api_key_env`.
    """
    if not settings.loopback and settings.api_key() is None:
        raise ConfigError(
            f"--host {settings.host} listens beyond this machine: set an API key in "
            f"${settings.api_key_env} first (or keep the default 127.0.0.1)"
        )


def serve(loaded: LoadedConfig, settings: ServiceSettings, *, log_level: str = "info") -> None:
    """Load the model and KB in the background and serve until interrupted.

    Raises:
        ConfigError: the extra `[serve]` is missing, or an unsafe binding.
    """
    check_binding(settings)
    try:
        import uvicorn
    except ImportError:
        raise ConfigError(
            "bundlekd serve needs the extra [serve]: pip install 'bundlekd[serve]'"
        ) from None
    from bundlekd.app.service.app import create_app
    from bundlekd.app.service.runtime import load_runtime, served_modes

    config = loaded.config
    modes = served_modes(config.generation.mode, settings.modes)
    app = create_app(settings, lambda: load_runtime(config, settings.modes), modes=modes)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        # A backstop below our own queue: past it uvicorn itself answers 503.
        limit_concurrency=settings.max_queue_sessions * 8,
        # Longer than uvicorn's 5 s: on a starved CPU a client may take seconds to send its
        # next request, and a connection closed just then is a transport error for it.
        timeout_keep_alive=15,
        timeout_graceful_shutdown=10,
    )
