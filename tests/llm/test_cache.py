"""CachingLLM: hits, misses, what is never cached, persistence across instances and threads."""

from __future__ import annotations

import threading
from pathlib import Path

from bundlekd.llm.base import ChatRequest, Completion, Message, Sampling
from bundlekd.llm.cache import CachingLLM, is_cacheable
from bundlekd.llm.fake import ScriptedLLM


def _request(text: str, **sampling: object) -> ChatRequest:
    return ChatRequest(messages=(Message("user", text),), sampling=Sampling(**sampling))


def _echo(request: ChatRequest) -> str:
    return "re: " + request.messages[-1].content


def test_hit_and_miss(tmp_path: Path) -> None:
    inner = ScriptedLLM(_echo)
    cached = CachingLLM(inner, tmp_path / "calls.sqlite")
    first = cached.generate([_request("a"), _request("b")])
    second = cached.generate([_request("b"), _request("c"), _request("a")])

    assert [c.text for c in first] == ["re: a", "re: b"]
    assert [c.text for c in second] == ["re: b", "re: c", "re: a"]
    assert [r.messages[0].content for r in inner.history] == ["a", "b", "c"]  # only misses
    assert (cached.hits, cached.misses) == (2, 3)
    assert second[0].latency_s == 0.0
    assert second[0].completion_tokens == first[1].completion_tokens == 2
    assert second[0].model == "scripted"
    assert cached.count() == 3


def test_key_depends_on_request_and_model(tmp_path: Path) -> None:
    cached = CachingLLM(ScriptedLLM(_echo), tmp_path / "c.sqlite")
    base = _request("a")
    assert cached.key(base) == cached.key(_request("a"))
    assert cached.key(base) != cached.key(_request("a", max_new_tokens=5))
    assert cached.key(base) != cached.key(
        ChatRequest(base.messages, json_schema={"type": "object"})
    )
    assert cached.key(base) != cached.key(ChatRequest(base.messages, adapter="lora"))
    # custom_id is bookkeeping, not part of the call
    assert cached.key(base) == cached.key(ChatRequest(base.messages, custom_id="s1"))
    reordered = [{"properties": {"a": {}, "b": {}}}, {"properties": {"b": {}, "a": {}}}]
    keys = {cached.key(ChatRequest(base.messages, json_schema=s)) for s in reordered}
    assert len(keys) == 2  # property order changes constrained output


def test_unseeded_sampling_is_never_cached(tmp_path: Path) -> None:
    inner = ScriptedLLM(_echo)
    cached = CachingLLM(inner, tmp_path / "c.sqlite")
    sampled = _request("s", temperature=0.8)
    seeded = _request("s", temperature=0.8, seed=1)
    assert not is_cacheable(sampled)
    assert is_cacheable(seeded)

    for _ in range(2):
        cached.generate([sampled, seeded])
    assert [r.sampling.seed for r in inner.history] == [None, 1, None]
    assert cached.count() == 1


def test_errors_are_not_cached(tmp_path: Path) -> None:
    class Flaky(ScriptedLLM):
        def generate(self, requests):  # type: ignore[no-untyped-def]
            out = super().generate(requests)
            if len(self.history) == 1:
                return [Completion(text="", finish_reason="error", error="boom")]
            return out

    inner = Flaky(_echo)
    cached = CachingLLM(inner, tmp_path / "c.sqlite")
    assert cached.generate([_request("a")])[0].error == "boom"
    assert cached.generate([_request("a")])[0].text == "re: a"
    assert cached.generate([_request("a")])[0].latency_s == 0.0
    assert len(inner.history) == 2


def test_persists_across_instances_and_threads(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    CachingLLM(ScriptedLLM(_echo), path).generate([_request(str(i)) for i in range(20)])

    reopened = CachingLLM(ScriptedLLM([]), path)  # an inner call would raise
    results: dict[int, str] = {}

    def worker(i: int) -> None:
        results[i] = reopened.generate([_request(str(i))])[0].text

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: f"re: {i}" for i in range(20)}
    assert reopened.hits == 20
    reopened.close()


def test_keys_are_stable_across_versions(tmp_path: Path) -> None:
    # Recorded before the key moved to files.canonical_hash: old cache files must still hit.
    cached = CachingLLM(ScriptedLLM(_echo), tmp_path / "c.sqlite")
    request = ChatRequest(
        (Message("user", "héllo"),),
        sampling=Sampling(max_new_tokens=7),
        json_schema={"b": 1, "a": [1]},
    )
    assert cached.key(request) == (
        "a2ff49d12bbbbc138da39c0533cd924867fbae4cd09b3dddf02a2404ac4ddbe2"
    )
