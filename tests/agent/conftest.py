"""Fixtures for agent tests: small sessions and a deterministic scripted backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from bundlekd.data.schema import Bundle, Item, Session
from bundlekd.errors import LLMError
from bundlekd.llm.base import LLM, ChatRequest, Completion

Reply = str | Completion | Callable[[ChatRequest], "str | Completion"]


class RecordingLLM(LLM):
    """Answers each request from `reply` (a string, a Completion, or a function of the request)
    and records every batch it was sent. `fail_on_call=n` raises LLMError on the n-th call."""

    name = "recording"
    supports_json_schema = True

    def __init__(self, reply: Reply = '{"bundles": []}', fail_on_call: int | None = None) -> None:
        self.reply = reply
        self.fail_on_call = fail_on_call
        self.batches: list[list[ChatRequest]] = []

    @property
    def model_id(self) -> str:
        return "recording-fake"

    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        self.batches.append(list(requests))
        if self.fail_on_call is not None and len(self.batches) == self.fail_on_call:
            raise LLMError("endpoint unreachable (scripted failure)")
        out = []
        for request in requests:
            reply = self.reply(request) if callable(self.reply) else self.reply
            if isinstance(reply, str):
                reply = Completion(text=reply, completion_tokens=len(reply) // 4, latency_s=0.01)
            out.append(reply)
        return out

    @property
    def requests(self) -> list[ChatRequest]:
        return [r for batch in self.batches for r in batch]


def make_session(
    session_id: str,
    titles: Sequence[str],
    bundles: Sequence[tuple[Sequence[int], str]] | None = None,
    *,
    domain: str = "electronic",
    split: str | None = "test",
    categories: bool = False,
) -> Session:
    """Items `<id>-i<n>` with the given titles; bundles as (1-based positions, intent)."""
    items = tuple(
        Item(
            item_id=f"{session_id}-i{n}",
            title=title,
            categories=(("Electronics", f"SecretCategory{n}"),) if categories else None,
        )
        for n, title in enumerate(titles, start=1)
    )
    gt = None
    if bundles is not None:
        gt = tuple(
            Bundle(items=tuple(items[p - 1].item_id for p in positions), intent=intent)
            for positions, intent in bundles
        )
    return Session(session_id=session_id, domain=domain, items=items, bundles=gt, split=split)


CAMERA = ["DSLR camera bag", "58mm UV lens filter", "Graphics card 2GB", "Lens cleaning kit"]
PHONE = ["Phone case black", "Screen protector glass", "USB car charger", "Hdmi cable 6ft"]


@pytest.fixture
def train_sessions() -> list[Session]:
    return [
        make_session("t1", CAMERA, [((1, 2, 4), "Camera gear")], split="train", categories=True),
        make_session("t2", PHONE, [((1, 2), "Protect the phone")], split="train", categories=True),
        make_session(
            "t3",
            ["Coffee beans dark roast", "Paper coffee filters", "Milk frother", "AA batteries"],
            [((1, 2, 3), "Morning coffee")],
            split="train",
        ),
    ]


@pytest.fixture
def test_sessions() -> list[Session]:
    return [
        make_session(f"s{n}", [f"{title} model {n}" for title in CAMERA], [((1, 2), "gear")])
        for n in range(1, 6)
    ]


@pytest.fixture
def recording_llm() -> Callable[..., RecordingLLM]:
    return RecordingLLM


@pytest.fixture
def session_factory() -> Callable[..., Session]:
    return make_session
