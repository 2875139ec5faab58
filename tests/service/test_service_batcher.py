"""MicroBatcher on its own: batching, the bounded queue, and failure isolation."""

from __future__ import annotations

import asyncio
import time

import pytest

from bundlekd.app.service.batcher import MicroBatcher, OverloadedError
from bundlekd.data.schema import Item, Prediction, Session


def _session(session_id: str, domain: str = "electronic") -> Session:
    items = (Item(item_id="a", title="case"), Item(item_id="b", title="glass"))
    return Session(session_id=session_id, domain=domain, items=items)


def _run_with(calls: list[list[str]]):  # type: ignore[no-untyped-def]
    def run(mode: str, sessions: list[Session]) -> list[Prediction]:
        calls.append([s.session_id for s in sessions])
        if any(s.domain == "bad" for s in sessions):
            raise ValueError("unknown domain 'bad'")
        time.sleep(0.05)
        return [Prediction(session_id=s.session_id, domain=s.domain) for s in sessions]

    return run


def test_queued_requests_share_a_call_and_a_bad_one_fails_alone() -> None:
    calls: list[list[str]] = []

    async def scenario() -> list[object]:
        batcher = MicroBatcher(
            _run_with(calls), capacity=10, max_sessions=lambda m: 8, wait_s=lambda m: 0.2
        )
        batcher.start()
        futures = [
            batcher.submit("agent", [_session("s1")]),
            batcher.submit("agent", [_session("s2", "bad")]),
            batcher.submit("agent", [_session("s3"), _session("s4")]),
        ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert batcher.pending == 0
        await batcher.stop()
        return results

    first, second, third = asyncio.run(scenario())
    assert calls[0] == ["s1", "s2", "s3", "s4"]  # one call for all three requests
    assert [p.session_id for p in first] == ["s1"]  # type: ignore[attr-defined]
    assert isinstance(second, ValueError)
    assert [p.session_id for p in third] == ["s3", "s4"]  # type: ignore[attr-defined]


def test_capacity_is_counted_in_sessions() -> None:
    async def scenario() -> None:
        batcher = MicroBatcher(
            _run_with([]), capacity=3, max_sessions=lambda m: 8, wait_s=lambda m: 0.0
        )
        first = batcher.submit("tool", [_session("s1"), _session("s2")])
        with pytest.raises(OverloadedError, match="capacity 3"):
            batcher.submit("tool", [_session("s3"), _session("s4")])
        batcher.start()
        await first
        assert batcher.pending == 0
        batcher.submit("tool", [_session("s3"), _session("s4")]).cancel()  # caller gave up
        await asyncio.sleep(0)  # done-callbacks run on the next loop turn
        assert batcher.pending == 0
        await batcher.stop()

    asyncio.run(scenario())


def test_a_request_whose_expected_wait_is_too_long_is_refused_at_once() -> None:
    async def scenario() -> None:
        batcher = MicroBatcher(
            _run_with([]),
            capacity=100,
            max_wait_s=1.0,
            max_sessions=lambda m: 1,
            wait_s=lambda m: 0.0,
        )
        batcher.start()
        await batcher.submit("tool", [_session("s0")])
        assert batcher.seconds_per_session is not None  # measured on the call
        batcher.seconds_per_session = 0.3  # pin it: the arithmetic below is exact
        accepted = [batcher.submit("tool", [_session(f"s{n}")]) for n in (1, 2, 3)]  # <= 0.9 s
        with pytest.raises(OverloadedError, match=r"expected wait is 1\.2 s"):
            batcher.submit("tool", [_session("s4")])
        await asyncio.gather(*accepted)
        await batcher.stop()

    asyncio.run(scenario())
