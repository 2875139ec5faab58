"""The answer parser: the first answer-shaped JSON value, repaired when broken, checked refs."""

from __future__ import annotations

import json

from bundlekd.data.answer import (
    MAX_PARSED_INTENT_CHARS,
    REPAIRED_NOTE,
    format_answer,
    is_answer_shape,
    iter_json_values,
    parse_answer,
    repaired_json_value,
)
from bundlekd.data.schema import Bundle, Item, Session

SESSION = Session(
    session_id="s1",
    domain="electronic",
    items=tuple(Item(item_id=f"X{i}", title=f"Product {i}") for i in range(1, 6)),
)


def _items(text: str) -> list[tuple[str, ...]]:
    return [b.items for b in parse_answer(text, SESSION).bundles]


def test_chatter_with_brackets_before_the_answer_is_skipped() -> None:
    text = 'The products [1,2] look related. {"bundles": [{"items": [3, 4], "intent": "x"}]}'
    parsed = parse_answer(text, SESSION)
    assert parsed.valid
    assert [b.items for b in parsed.bundles] == [("X3", "X4")]
    assert parsed.errors == ()


def test_the_first_answer_wins_and_fences_are_ignored() -> None:
    first = json.dumps({"bundles": [{"items": [1, 2], "intent": "a"}]})
    second = json.dumps({"bundles": [{"items": [3, 4], "intent": "b"}]})
    assert _items(f"Sure!\n```json\n{first}\n```\nor maybe {second}") == [("X1", "X2")]
    assert _items("[[1, 2], [4, 5]]") == [("X1", "X2"), ("X4", "X5")]  # a bare list of bundles
    assert parse_answer("[]", SESSION).valid  # a valid "no bundles" answer


def test_broken_json_is_repaired_and_says_so() -> None:
    cut_off = '{"bundles": [{"items": [1, 2], "intent": "cables"}, {"items": [3, 4], "inte'
    parsed = parse_answer(cut_off, SESSION)
    assert parsed.valid
    assert [b.items for b in parsed.bundles] == [("X1", "X2"), ("X3", "X4")]
    assert parsed.errors == (REPAIRED_NOTE,)
    assert _items("{'bundles': [{'items': [2, 5], 'intent': 'quoted',}]}") == [("X2", "X5")]
    assert _items("{bundles: [{items: [1, 3], intent: bare keys}]} hope this helps") == [
        ("X1", "X3")
    ]


def test_json_that_is_not_an_answer_is_unparsable() -> None:
    for text in ("[1, 2, 3]", "[1, 2] [3, 4]", '{"bundles": "none", "n": [[1, 2]]}'):
        parsed = parse_answer(text, SESSION)
        assert not parsed.valid, text
        assert parsed.errors == ("unparsable: no 'bundles' list",)
    no_json = parse_answer("I think 1 and 2 go together", SESSION)
    assert no_json.errors == ("unparsable: no JSON object in the output",)
    assert not parse_answer("I think 1 and [go]", SESSION).valid
    assert parse_answer('{"thought": "hmm", "x": 1}', SESSION).thought == "hmm"
    assert parse_answer("[" * 3000, SESSION).valid is False  # never raises
    empty = parse_answer('{"bundles": []}', SESSION)
    assert empty.valid
    assert empty.bundles == ()


def test_long_intents_are_cut_and_the_cut_is_reported() -> None:
    long_intent = "x" * (MAX_PARSED_INTENT_CHARS + 50)
    text = json.dumps({"bundles": [{"items": [1, 2], "intent": long_intent}]})
    parsed = parse_answer(text, SESSION)
    assert parsed.bundles[0].intent == "x" * MAX_PARSED_INTENT_CHARS
    assert parsed.errors == ("bundle 1: intent cut to 200 of 250 characters",)
    short = parse_answer(json.dumps({"bundles": [{"items": [1, 2], "intent": "ok"}]}), SESSION)
    assert short.errors == ()


def test_references_are_checked_against_the_session() -> None:
    text = json.dumps({"bundles": [{"items": [1, "product 2", 9, 2]}, {"items": [3, 3]}]})
    parsed = parse_answer(text, SESSION)
    assert [b.items for b in parsed.bundles] == [("X1", "X2")]
    assert parsed.hallucinated_refs == 1
    assert parsed.errors == (
        "bundle 1: unknown product reference 9",
        "bundle 2: fewer than 2 valid products, dropped",
    )


def test_format_and_parse_round_trip() -> None:
    bundles = (Bundle(items=("X2", "X4"), intent="phone kit"),)
    text = format_answer(bundles, SESSION, thought="both are for one phone")
    parsed = parse_answer(text, SESSION)
    assert parsed.bundles == bundles
    assert parsed.thought == "both are for one phone"


def test_the_json_scan_and_the_answer_shape() -> None:
    values = list(iter_json_values('a {"rules": ["x"]} b [1, 2] c {broken'))
    assert values == [{"rules": ["x"]}, [1, 2]]  # top-level values only
    cut_off = 'say [1] {"bundles": [{"items": [1, 2]}'
    assert list(iter_json_values(cut_off)) == [[1], {"items": [1, 2]}]  # exact values only
    assert repaired_json_value(cut_off) == {"bundles": [{"items": [1, 2]}]}
    assert repaired_json_value('{"a": 1} [2]') is None  # nothing broken
    assert is_answer_shape({"bundles": []})
    assert is_answer_shape([{"items": [1, 2]}])
    assert not is_answer_shape([1, 2])
    assert not is_answer_shape({"bundles": "none"})
    assert is_answer_shape([])
