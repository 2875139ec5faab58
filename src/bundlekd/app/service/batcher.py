"""MicroBatcher: concurrent requests share one model call, behind a bounded queue.

Requests queue per mode. One worker takes the first waiting request, then everything of the
same mode that is already queued (up to `max_sessions` sessions); in LLM modes it also waits up
to `wait_s` for more, so concurrent clients share one `generate` call (one batched forward pass
on a local model, one fan-out on a server). The call runs on a single worker thread: the
agents, the embedder cache and a local model are used by one thread at a time.

The queue is bounded in sessions: a request that would pass `capacity` is refused at once
(`OverloadedError`, which the service answers 503 with Retry-After), never queued without end. A
request whose caller gave up (timeout, disconnect) before its batch started is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bundlekd.data.schema import Prediction, Session

logger = logging.getLogger(__name__)

RunBatch = Callable[[str, list[Session]], list[Prediction]]


class OverloadedError(Exception):
    """The queue is full: try again later."""


@dataclass
class _Job:
    mode: str
    sessions: Sequence[Session]
    future: asyncio.Future[list[Prediction]] = field(repr=False)


class MicroBatcher:
    """Batches `submit` calls into `run(mode, sessions)` calls on one worker thread.

    Args:
        run: Generates predictions for sessions of one mode, in order (blocking).
        capacity: Most sessions queued or running at once.
        max_sessions: Most sessions per `run` call (a larger request runs alone).
        wait_s: Per mode, how long a batch waits for more requests (0 = never).
        on_batch: Called with (mode, sessions in the batch, requests in the batch).
    """

    def __init__(
        self,
        run: RunBatch,
        *,
        capacity: int,
        max_sessions: Callable[[str], int],
        wait_s: Callable[[str], float],
        on_batch: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self._run = run
        self.capacity = capacity
        self._max_sessions = max_sessions
        self._wait_s = wait_s
        self._on_batch = on_batch
        self.pending = 0  # sessions queued or running
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._carry: _Job | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bundlekd-model")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._work(), name="batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._executor.shutdown(wait=False, cancel_futures=True)

    def submit(self, mode: str, sessions: Sequence[Session]) -> asyncio.Future[list[Prediction]]:
        """Queue sessions; the future resolves to their predictions, in order.

        Raises:
            OverloadedError: accepting them would pass `capacity`.
        """
        if self.pending + len(sessions) > self.capacity:
            raise OverloadedError(
                f"{self.pending} sessions are queued or running (capacity {self.capacity})"
            )
        future: asyncio.Future[list[Prediction]] = asyncio.get_running_loop().create_future()
        self.pending += len(sessions)
        future.add_done_callback(lambda _: self._release(len(sessions)))
        self._queue.put_nowait(_Job(mode, sessions, future))
        return future

    def _release(self, n: int) -> None:
        self.pending -= n

    async def _next(self, timeout: float | None) -> _Job | None:
        if self._carry is not None:
            job, self._carry = self._carry, None
            return job
        if timeout is None:
            return await self._queue.get()
        if not self._queue.empty():
            return self._queue.get_nowait()
        if timeout <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._next(None)
            if first is None or first.future.done():  # its caller gave up
                continue
            batch, size = [first], len(first.sessions)
            limit = self._max_sessions(first.mode)
            deadline = loop.time() + self._wait_s(first.mode)
            while size < limit:
                job = await self._next(deadline - loop.time())
                if job is None:
                    break
                if job.future.done():
                    continue
                if job.mode != first.mode or size + len(job.sessions) > limit:
                    self._carry = job  # the first of the next batch
                    break
                batch.append(job)
                size += len(job.sessions)
            await self._run_batch(loop, batch)

    async def _run_batch(self, loop: asyncio.AbstractEventLoop, batch: list[_Job]) -> None:
        sessions = [s for job in batch for s in job.sessions]
        mode = batch[0].mode
        if self._on_batch is not None:
            self._on_batch(mode, len(sessions), len(batch))
        try:
            predictions = await loop.run_in_executor(self._executor, self._run, mode, sessions)
            if len(predictions) != len(sessions):
                raise RuntimeError(f"{len(predictions)} predictions for {len(sessions)} sessions")
        except Exception as exc:  # every caller of the batch gets the error
            logger.warning("batch of %d session(s) failed: %s", len(sessions), exc)
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        start = 0
        for job in batch:
            part = predictions[start : start + len(job.sessions)]
            start += len(job.sessions)
            if not job.future.done():
                job.future.set_result(part)
