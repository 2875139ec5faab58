"""ServiceState: what the routes share (settings, metrics, the batcher, the loaded runtime)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bundlekd.app.service.batcher import MicroBatcher
from bundlekd.app.service.knowledge import KnowledgeService
from bundlekd.app.service.metrics import ServiceMetrics
from bundlekd.app.service.runtime import Runtime
from bundlekd.app.service.settings import ServiceSettings
from bundlekd.data.schema import Prediction, Session
from bundlekd.errors import BundleKDError

logger = logging.getLogger(__name__)

Loader = Callable[[], Runtime]


@dataclass
class ServiceState:
    settings: ServiceSettings
    loader: Loader
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    runtime: Runtime | None = None
    knowledge: KnowledgeService | None = None
    load_error: str = ""
    batcher: MicroBatcher | None = None
    pending_writes: int = 0
    api_key: str | None = None
    on_load_failed: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self.api_key = self.settings.api_key()

    def loaded(self, runtime: Runtime) -> None:
        self.runtime = runtime
        if runtime.kb is not None:
            live = runtime.live
            self.knowledge = KnowledgeService(
                runtime.kb, runtime.info.get("chroma_url"), live.up_to_date if live else None
            )
            if live is not None:
                live.watch(self.settings.knowledge_poll_s)

    def load(self) -> None:
        """Build the runtime (blocking). A failure is not raised: it is kept (one line) for
        /health and /ready, and handed to `on_load_failed` (the server stops on it)."""
        try:
            self.loaded(self.loader())
        except Exception as exc:
            error = " ".join(f"{type(exc).__name__}: {exc}".split())
            self.load_error = error
            if not isinstance(exc, BundleKDError):
                logger.exception("the service could not load")  # ours to fix: the traceback
            elif self.on_load_failed is None:
                logger.error("the service could not load: %s", error)
            if self.on_load_failed is not None:
                self.on_load_failed(error)  # it reports the cause (the server: its last line)

    def start_batcher(self) -> MicroBatcher:
        settings = self.settings

        def run(mode: str, sessions: list[Session]) -> list[Prediction]:
            assert self.runtime is not None  # requests are refused until it is loaded
            return self.runtime.generate(mode, sessions)

        def max_sessions(mode: str) -> int:
            # The tool costs the same per session in a batch of 1 or 64 (measured), so larger
            # tool batches would only make the first request of a batch wait for the last.
            if settings.batch_sessions:
                return settings.batch_sessions
            return self.runtime.batch_size if self.runtime is not None else 8

        def wait_s(mode: str) -> float:
            runtime = self.runtime
            uses_llm = runtime is not None and runtime.uses_llm(mode)
            return settings.batch_wait_ms / 1000.0 if uses_llm else 0.0

        def on_batch(mode: str, n_sessions: int, n_requests: int) -> None:
            self.metrics.batch_sessions.labels(mode).observe(n_sessions)

        self.batcher = MicroBatcher(
            run,
            capacity=settings.max_queue_sessions,
            max_wait_s=settings.max_wait_s,
            max_sessions=max_sessions,
            wait_s=wait_s,
            on_batch=on_batch,
        )
        self.batcher.start()
        self.metrics.queued.set_function(lambda: self.batcher.pending if self.batcher else 0)
        return self.batcher

    async def start(self, background: bool) -> asyncio.Task[None] | None:
        self.start_batcher()
        if self.runtime is not None:
            return None
        if background:
            return asyncio.get_running_loop().create_task(asyncio.to_thread(self.load))
        self.load()
        return None

    async def stop(self) -> None:
        if self.runtime is not None and self.runtime.live is not None:
            self.runtime.live.stop()
        if self.batcher is not None:
            await self.batcher.stop()
        if self.runtime is not None:
            self.runtime.close()
