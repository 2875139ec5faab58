"""The error taxonomy of DESIGN.md §1: one test per branch, all in product numbers."""

from __future__ import annotations

import json

from bundlekd.data.answer import parse_answer
from bundlekd.data.schema import Bundle, Item, Session
from bundlekd.knowledge_base.distill.feedback import (
    ErrorKind,
    classify_bundle,
    count_kinds,
    feedback_for,
    is_perfect,
    render_feedback,
)


def _session(bundles: list[list[int]]) -> Session:
    items = tuple(Item(item_id=f"X{i}", title=f"Product title {i}") for i in range(1, 8))
    return Session(
        session_id="s1",
        domain="electronic",
        items=items,
        bundles=tuple(Bundle(items=tuple(f"X{p}" for p in b), intent="i") for b in bundles),
        split="train",
    )


def _answer(*bundles: list) -> str:
    return json.dumps({"bundles": [{"items": b, "intent": "x"} for b in bundles]})


SESSION = _session([[1, 2, 3], [5, 6]])
TRUTH = [b.items for b in SESSION.bundles or ()]


def test_exact_bundle_is_correct() -> None:
    line = classify_bundle(["X5", "X6"], TRUTH, SESSION)
    assert line.kind is ErrorKind.CORRECT
    assert line.jaccard == 1.0
    assert line.text() == "Bundle [5, 6]: correct, keep it."


def test_disjoint_bundle_is_invalid() -> None:
    line = classify_bundle(["X4", "X7"], TRUTH, SESSION)
    assert line.kind is ErrorKind.INVALID
    assert "remove it" in line.text()
    assert line.products == (4, 7)


def test_strict_subset_is_missing_products() -> None:
    line = classify_bundle(["X1", "X3"], TRUTH, SESSION)
    assert line.kind is ErrorKind.MISSING
    assert line.jaccard == 2 / 3
    assert line.text() == "Bundle [1, 3]: incomplete, it is missing related products; add them."


def test_single_item_subset_needs_two_products() -> None:
    line = classify_bundle(["X2"], TRUTH, SESSION)
    assert line.kind is ErrorKind.MISSING
    assert line.text() == "Bundle [2]: should contain at least 2 related products."


def test_overlap_with_extras_names_the_irrelevant_products() -> None:
    line = classify_bundle(["X1", "X2", "X4", "X7"], TRUTH, SESSION)
    assert line.kind is ErrorKind.IRRELEVANT
    assert line.irrelevant == (4, 7)
    assert line.text() == (
        "Bundle [1, 2, 4, 7]: contains irrelevant products (product 4, product 7); remove them."
    )
    assert "X4" not in line.text()  # product numbers, never item ids


def test_superset_of_a_bundle_is_irrelevant_not_missing() -> None:
    line = classify_bundle(["X5", "X6", "X7"], TRUTH, SESSION)
    assert line.kind is ErrorKind.IRRELEVANT
    assert line.irrelevant == (7,)


def test_ties_prefer_the_bundle_that_contains_the_prediction() -> None:
    session = _session([[1, 2, 3, 4], [1, 5]])
    # J([1], [1,5]) = 1/2 > J([1], [1..4]) = 1/4: [1,5] is the reference, products are missing.
    line = classify_bundle(["X1"], [b.items for b in session.bundles or ()], session)
    assert line.kind is ErrorKind.MISSING
    assert line.jaccard == 0.5


def test_feedback_for_a_whole_answer() -> None:
    text = _answer([5, 6], [1, 2, 7], [4, 9], [3])
    parsed = parse_answer(text, SESSION)
    lines = feedback_for(parsed, SESSION)
    kinds = [line.kind for line in lines]
    assert kinds == [
        ErrorKind.HALLUCINATION,  # product 9 does not exist
        ErrorKind.CORRECT,
        ErrorKind.IRRELEVANT,
        ErrorKind.MISSING,  # [4, 9] lost its hallucinated member: a 1-item bundle (answer pos 3)
        ErrorKind.MISSING,  # [3]: dropped by the parser, reported by its position (4)
    ]
    assert [line.bundle_index for line in lines[3:]] == [3, 4]
    assert count_kinds(lines) == {"hallucination": 1, "correct": 1, "irrelevant": 1, "missing": 2}
    assert lines[0].count == 1
    text_out = render_feedback(lines)
    assert "Bundle 3 of your answer: should contain at least 2 related products." in text_out
    assert "Bundle 4 of your answer: should contain at least 2 related products." in text_out
    assert not is_perfect(lines)


def test_unparsable_answer() -> None:
    lines = feedback_for(parse_answer("I think 1 and 2 go together", SESSION), SESSION)
    assert [line.kind for line in lines] == [ErrorKind.UNPARSABLE]
    assert "could not be read" in render_feedback(lines)


def test_bundles_not_touched_are_counted_not_named() -> None:
    lines = feedback_for(parse_answer(_answer([1, 2, 3]), SESSION), SESSION)
    assert [line.kind for line in lines] == [ErrorKind.CORRECT, ErrorKind.NOT_FOUND]
    assert lines[1].count == 1
    assert lines[1].text() == "1 bundle(s) in this session were not found by any of your bundles."


def test_perfect_answer() -> None:
    lines = feedback_for(parse_answer(_answer([1, 2, 3], [5, 6]), SESSION), SESSION)
    assert is_perfect(lines)
    assert render_feedback(lines).count("correct, keep it.") == 2


def test_empty_answer_for_a_session_without_bundles_is_correct() -> None:
    session = _session([])
    lines = feedback_for(parse_answer(_answer(), session), session)
    assert lines == []
    assert "correct" in render_feedback(lines)
