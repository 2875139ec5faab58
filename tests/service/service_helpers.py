"""Helpers of the service tests: request bodies, an in-process app, a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bundlekd.app.service.loadgen import wait_ready
from bundlekd.data.sources import load_sample

REPO = Path(__file__).resolve().parents[2]


def session_body(session_id: str = "s1", domain: str = "electronic") -> dict[str, Any]:
    """A test session of the shipped sample as a request's `session`."""
    sample = next(s for s in load_sample().split("test") if s.domain == domain)
    items = [{"item_id": i.item_id, "title": i.title} for i in sample.items]
    return {"session_id": session_id, "domain": domain, "items": items}


def rule(text: str, domain: str = "electronic") -> dict[str, Any]:
    return {"kind": "rule", "text": text, "domain": domain, "source_splits": ["train"]}


def app_for(
    kb_dir: Path,
    loader: Callable[[], Any] | None = None,
    *,
    background: bool = False,
    **settings: Any,
) -> Any:
    """The service app on `kb_dir` (tool mode unless `loader` says otherwise), loaded before
    the first request unless `background`."""
    from bundlekd.app.service.app import create_app
    from bundlekd.app.service.runtime import load_runtime
    from bundlekd.app.service.settings import ServiceSettings
    from bundlekd.config import load_config

    config = load_config(None, {"kb.dir": kb_dir}, environ={}).config
    return create_app(
        ServiceSettings(**settings),
        loader or (lambda: load_runtime(config)),
        background_load=background,
        modes=None if loader else ["tool"],
    )


def client_for(
    kb_dir: Path,
    loader: Callable[[], Any] | None = None,
    *,
    background: bool = False,
    **settings: Any,
) -> Any:
    """A TestClient over `app_for(...)`; enter it (`with`) to run the app's startup."""
    from fastapi.testclient import TestClient

    app = app_for(kb_dir, loader, background=background, **settings)
    return TestClient(app, raise_server_exceptions=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def servers(
    kb_dir: Path, *args: str, count: int = 1, env: dict[str, str] | None = None
) -> Iterator[list[tuple[str, subprocess.Popen[str]]]]:
    """`count` real `bundlekd serve` processes on `kb_dir`, started together, each on a free
    loopback port; yields [(url, Popen)] once all are ready, stops them after."""
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "BUNDLEKD_NUM_THREADS": "1",
        **(env or {}),
    }
    started = []
    try:
        for _ in range(count):
            port = free_port()
            command = [sys.executable, "-m", "bundlekd", "serve", "--kb", str(kb_dir)]
            command += ["--port", str(port), "--log-level", "warning", *args]
            process = subprocess.Popen(command, env=environ, stderr=subprocess.PIPE, text=True)
            started.append((f"http://127.0.0.1:{port}", process))
        for url, process in started:
            wait_ready(url, process)
        yield started
    finally:
        for _, process in started:
            _stop(process)


@contextmanager
def server(
    kb_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """One real `bundlekd serve` process; yields (url, Popen)."""
    with servers(kb_dir, *args, env=env) as started:
        yield started[0]


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stderr is not None:
        process.stderr.close()
