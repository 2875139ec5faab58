"""LangChainLLM over langchain-core's FakeListChatModel."""

from __future__ import annotations

import json

import pytest

from bundlekd.llm.base import ChatRequest, Message
from bundlekd.llm.langchain_chat import LangChainLLM, to_langchain_messages

fake_chat_models = pytest.importorskip("langchain_core.language_models.fake_chat_models")


def test_batch_in_order_and_messages_converted() -> None:
    chat = fake_chat_models.FakeListChatModel(responses=["first", "second", "third"])
    llm = LangChainLLM(chat, max_concurrency=1)  # sequential: FakeListChatModel is a queue
    requests = [ChatRequest((Message("system", "s"), Message("user", f"q{i}"))) for i in range(3)]
    completions = llm.generate(requests)
    assert [c.text for c in completions] == ["first", "second", "third"]
    assert all(c.finish_reason == "stop" and c.error is None for c in completions)
    assert llm.model_id == "FakeListChatModel"

    converted = to_langchain_messages(
        [Message("system", "a"), Message("user", "b"), Message("assistant", "c")]
    )
    assert [m.type for m in converted] == ["system", "human", "ai"]
    assert [m.content for m in converted] == ["a", "b", "c"]


def test_schema_ignored_without_structured_output() -> None:
    chat = fake_chat_models.FakeListChatModel(responses=['{"a": 1}'])
    llm = LangChainLLM(chat)
    request = ChatRequest((Message("user", "json please"),), json_schema={"type": "object"})
    completion = llm.generate([request])[0]
    assert json.loads(completion.text) == {"a": 1}


def test_a_failing_request_becomes_an_error_completion() -> None:
    class Broken(fake_chat_models.FakeListChatModel):
        def _call(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
            if messages[-1].content == "bad":
                raise ValueError("model exploded")
            return super()._call(messages, stop, run_manager, **kwargs)

    llm = LangChainLLM(Broken(responses=["ok"]), max_concurrency=1)
    good, bad = llm.generate(
        [ChatRequest((Message("user", "good"),)), ChatRequest((Message("user", "bad"),))]
    )
    assert good.text == "ok"
    assert bad.finish_reason == "error"
    assert "model exploded" in bad.error


def test_a_transport_failure_stops_the_batch_instead_of_becoming_an_answer() -> None:
    from bundlekd.errors import TransportError

    class Offline(fake_chat_models.FakeListChatModel):
        def _call(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
            if messages[-1].content == "slow":
                raise TimeoutError("read timed out")
            return super()._call(messages, stop, run_manager, **kwargs)

    llm = LangChainLLM(Offline(responses=["ok"]), max_concurrency=1)
    with pytest.raises(TransportError, match="1 of 2 requests got no answer"):
        llm.generate(
            [ChatRequest((Message("user", "good"),)), ChatRequest((Message("user", "slow"),))]
        )
