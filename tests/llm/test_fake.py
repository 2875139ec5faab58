"""ScriptedLLM: replies in order or from a function, history, truncation."""

from __future__ import annotations

import pytest

from bundlekd.errors import LLMError
from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.llm.fake import ScriptedLLM


def test_list_replies_in_order_then_exhausted() -> None:
    llm = ScriptedLLM(["one", "two words"])
    first = llm.complete([Message("user", "a")])
    second = llm.complete([Message("system", "be brief"), Message("user", "b c")])
    assert (first.text, second.text) == ("one", "two words")
    assert (second.prompt_tokens, second.completion_tokens) == (4, 2)
    assert [r.messages[-1].content for r in llm.history] == ["a", "b c"]
    with pytest.raises(LLMError, match="ran out of replies after 2"):
        llm.complete([Message("user", "c")])


def test_cycle_and_callable_and_truncation() -> None:
    cycling = ScriptedLLM(["x", "y"], cycle=True)
    assert [c.text for c in cycling.generate([ChatRequest((Message("user", "q"),))] * 3)] == [
        "x",
        "y",
        "x",
    ]
    echo = ScriptedLLM(lambda r: r.messages[-1].content.upper())
    long = ChatRequest((Message("user", "a b c d"),), sampling=Sampling(max_new_tokens=2))
    completion = echo.generate([long])[0]
    assert (completion.text, completion.finish_reason, completion.completion_tokens) == (
        "A B",
        "length",
        2,
    )


def test_backends_without_a_tokenizer_count_with_the_shared_estimate() -> None:
    from bundlekd.llm.tokens import approx_tokens, truncate_to_tokens

    assert ScriptedLLM(["x"]).count_tokens("x" * 9) == approx_tokens("x" * 9) == 4
    assert approx_tokens("") == 0
    cut = truncate_to_tokens("word " * 40, 10)
    assert cut.endswith("…")
    assert approx_tokens(cut) <= 10
