"""serve: run the service under uvicorn (what `bundlekd serve` calls)."""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import TYPE_CHECKING

from bundlekd.app.service.errors import LoadFailedError
from bundlekd.app.service.settings import ServiceSettings
from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.config import LoadedConfig

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Whether every address `host` resolves to is a loopback address.

    The name is resolved, never matched as text: `127.attacker.invalid` starts like a loopback
    address and is not one. A name that does not resolve is not loopback.
    """
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    addresses = {str(info[4][0]).partition("%")[0] for info in infos}  # drop an IPv6 zone
    try:
        return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)
    except ValueError:
        return False


def check_binding(settings: ServiceSettings) -> None:
    """Refuse to listen beyond loopback without an API key.

    Raises:
        ConfigError: a host that does not resolve to loopback only, and no key in
            `settings.api_key_env`.
    """
    if settings.api_key() is None and not is_loopback(settings.host):
        raise ConfigError(
            f"--host {settings.host} is not a loopback address (it resolves beyond this machine, "
            f"or not at all): set an API key in ${settings.api_key_env} first (or keep the "
            "default 127.0.0.1)"
        )


def serve(loaded: LoadedConfig, settings: ServiceSettings, *, log_level: str = "info") -> None:
    """Load the model and KB in the background and serve until interrupted.

    A load that fails (wrong --kb, missing model) stops the server: a service that can never
    answer must not look alive to its supervisor, so the process exits non-zero instead of
    answering 503 forever.

    Raises:
        ConfigError: the extra `[serve]` is missing, or an unsafe binding.
        LoadFailedError: the model or KB could not be loaded (one line naming the cause).
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
    server: list[uvicorn.Server] = []

    def load_failed(_: str) -> None:
        server[0].should_exit = True  # uvicorn's main loop checks it every 0.1 s

    app = create_app(
        settings,
        lambda: load_runtime(config, settings.modes),
        modes=modes,
        on_load_failed=load_failed,
    )
    server.append(
        uvicorn.Server(
            uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_level=log_level,
                # A backstop below our own queue: past it uvicorn itself answers 503.
                limit_concurrency=settings.max_queue_sessions * 8,
                # Longer than uvicorn's 5 s: on a starved CPU a client may take seconds to send
                # its next request, and a connection closed just then is a transport error.
                timeout_keep_alive=15,
                timeout_graceful_shutdown=10,
            )
        )
    )
    server[0].run()
    failure = app.state.service.load_error
    if failure:
        raise LoadFailedError(f"the service could not load: {failure}")
