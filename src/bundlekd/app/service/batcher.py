"""MicroBatcher: concurrent requests share one model call, behind a bounded queue.

Requests queue per mode. One worker takes the first waiting request, then everything of the
same mode that is already queued (up to `max_sessions` sessions); in LLM modes it also waits up
to `wait_s` for more, so concurrent clients share one `generate` call (one batched forward pass
on a local model, one fan-out on a server). The call runs on a single worker thread: the
agents, the embedder cache and a local model are used by one thread at a time.

The queue is bounded twice, and a request past either bound is refused at once
(`OverloadedError`, which the service answers 503 with Retry-After), never queued without end:
- in sessions (`capacity`);
- in expected wait (`max_wait_s`): the sessions ahead of it times the measured seconds per
  session (a moving average over recent calls). A request that would wait longer than its
  caller's patience is told so now instead of timing out later, which keeps the latency of
  the accepted ones bounded under any number of clients.
A request whose caller gave up (timeout, disconnect) before its batch started is skipped.
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
        max_wait_s: Refuse a request whose expected wait is longer (None = no such bound).
        max_sessions: Most sessions per `run` call (a larger request runs alone).
        wait_s: Per mode, how long a batch waits for more requests (0 = never).
        on_batch: Called with (mode, sessions in the batch, requests in the batch).
    """

    def __init__(
        self,
        run: RunBatch,
        *,
        capacity: int,
        max_wait_s: float | None = None,
        max_sessions: Callable[[str], int],
        wait_s: Callable[[str], float],
        on_batch: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self._run = run
        self.capacity = capacity
        self.max_wait_s = max_wait_s
        self.seconds_per_session: float | None = None  # moving average, from finished calls
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
        rate = self.seconds_per_session
        if self.max_wait_s is not None and rate is not None and self.pending:
            wait = (self.pending + len(sessions)) * rate
            if wait > self.max_wait_s:
                raise OverloadedError(
                    f"the expected wait is {wait:.1f} s ({self.pending} sessions ahead at "
                    f"{1000 * rate:.0f} ms each), over {self.max_wait_s:g} s"
                )
        future: asyncio.Future[list[Prediction]] = asyncio.get_running_loop().create_future()
        self.pending += len(sessions)
        future.add_done_callback(lambda _: self._release(len(sessions)))
        self._queue.put_nowait(_Job(mode, sessions, future))
        return future

    def _release(self, n: int) -> None:
        self.pending -= n

    def _observe(self, seconds: float) -> None:
        previous = self.seconds_per_session
        self.seconds_per_session = seconds if previous is None else 0.8 * previous + 0.2 * seconds

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
            started = loop.time()
            predictions = await loop.run_in_executor(self._executor, self._run, mode, sessions)
            self._observe((loop.time() - started) / max(1, len(sessions)))
            if len(predictions) != len(sessions):
                raise RuntimeError(f"{len(predictions)} predictions for {len(sessions)} sessions")
        except Exception as exc:
            if len(batch) > 1:
                # One request's bad session (e.g. a domain the tool does not know) must not
                # fail the others it was batched with: run them one by one.
                logger.info("a batch failed (%s); running its %d requests alone", exc, len(batch))
                for job in batch:
                    await self._run_batch(loop, [job])
                return
            logger.warning("a request of %d session(s) failed: %s", len(sessions), exc)
            if not batch[0].future.done():
                batch[0].future.set_exception(exc)
            return
        start = 0
        for job in batch:
            part = predictions[start : start + len(job.sessions)]
            start += len(job.sessions)
            if not job.future.done():
                job.future.set_result(part)
