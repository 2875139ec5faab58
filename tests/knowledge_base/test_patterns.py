"""Frequent patterns: known support/confidence on a hand-made set, levels, leak guard."""

from __future__ import annotations

import pytest

from bundlekd.data.schema import Bundle, Item, Session
from bundlekd.data.sources import load_sessions
from bundlekd.errors import ConfigError, LeakageError
from bundlekd.knowledge_base.distill.patterns import (
    FrequentPattern,
    bundle_transactions,
    category_label,
    mine_patterns,
    mine_repeat_patterns,
    mine_session_patterns,
)

# 10 bundles: support(A)=0.8, support(B)=0.6, support(C)=0.4, support(D)=0.2.
TRANSACTIONS = (
    [frozenset("AB")] * 4 + [frozenset("ABC")] * 2 + [frozenset("A")] * 2 + [frozenset("CD")] * 2
)


def _by_categories(patterns: list[FrequentPattern]) -> dict[tuple[str, ...], FrequentPattern]:
    return {p.categories: p for p in patterns}


def test_known_support_confidence_lift() -> None:
    patterns = mine_patterns(TRANSACTIONS, min_support=0.15, min_confidence=0.0)
    found = _by_categories(patterns)
    assert set(found) == {("A", "B"), ("A", "C"), ("B", "C"), ("C", "D"), ("A", "B", "C")}
    ab = found[("A", "B")]
    # B -> A: 6/6 = 1.0 beats A -> B: 6/8; lift = 1.0 / support(A) = 1.25.
    assert (ab.support, ab.count, ab.confidence) == (pytest.approx(0.6), 6, pytest.approx(1.0))
    assert ab.lift == pytest.approx(1.25)
    assert (ab.antecedent, ab.consequent) == (("B",), ("A",))
    cd = found[("C", "D")]
    assert (cd.antecedent, cd.consequent, cd.confidence) == (("D",), ("C",), pytest.approx(1.0))
    assert cd.lift == pytest.approx(2.5)
    ac = found[("A", "C")]
    assert (ac.support, ac.confidence) == (pytest.approx(0.2), pytest.approx(0.5))
    # {A,B,C}: (A,C) -> B and (B,C) -> A both have confidence 1; the higher lift (1/0.6) wins.
    abc = found[("A", "B", "C")]
    assert (abc.antecedent, abc.consequent) == (("A", "C"), ("B",))
    assert abc.lift == pytest.approx(1 / 0.6)


def test_thresholds_and_deterministic_order() -> None:
    patterns = mine_patterns(TRANSACTIONS, min_support=0.15, min_confidence=0.6)
    assert [p.categories for p in patterns] == [("A", "B"), ("A", "B", "C"), ("C", "D")]
    assert [p.categories for p in mine_patterns(TRANSACTIONS, min_support=0.3)] == [("A", "B")]
    reordered = list(reversed(TRANSACTIONS))
    assert mine_patterns(reordered, min_support=0.15) == mine_patterns(
        TRANSACTIONS, min_support=0.15
    )


def test_apriori_and_fpgrowth_agree() -> None:
    kwargs = {"min_support": 0.15, "min_confidence": 0.0}
    assert mine_patterns(TRANSACTIONS, algorithm="apriori", **kwargs) == mine_patterns(
        TRANSACTIONS, algorithm="fpgrowth", **kwargs
    )


def test_max_len_and_degenerate_inputs() -> None:
    pairs_only = mine_patterns(TRANSACTIONS, min_support=0.15, min_confidence=0.0, max_len=2)
    assert max(len(p.categories) for p in pairs_only) == 2
    assert mine_patterns([frozenset("A")] * 3) == []
    assert mine_patterns([]) == []
    with pytest.raises(ConfigError, match="min_support"):
        mine_patterns(TRANSACTIONS, min_support=0.0)
    with pytest.raises(ConfigError, match="algorithm"):
        mine_patterns(TRANSACTIONS, algorithm="eclat")


def test_text_and_stats() -> None:
    ab = _by_categories(mine_patterns(TRANSACTIONS, min_support=0.15))[("A", "B")]
    assert ab.text == "A + B are often bundled (support 0.60, confidence 1.00)"
    assert ab.stats()["count"] == 6
    rare = FrequentPattern(("X", "Y"), 0.002, 2, 1.0, 9.0, ("X",), ("Y",))
    assert rare.text == "X + Y are often bundled (support 0.002, confidence 1.00)"
    assert ab.stats()["categories"] == ["A", "B"]
    assert not ab.is_repeat


def test_category_label_levels() -> None:
    paths = (("Electronics", "Computers & Accessories", "Cases & Sleeves"), ("Other", "X"))
    assert category_label(paths) == "Cases & Sleeves"
    assert category_label(paths, "depth-2") == "Computers & Accessories"
    assert category_label(paths, "depth-9") == "Cases & Sleeves"  # shorter path: its leaf
    assert category_label(None) is None
    assert category_label(((), ("A", "B"))) == "B"  # empty paths are skipped
    with pytest.raises(ConfigError, match="depth-K"):
        category_label(paths, "depth-0")


def _item(item_id: str, leaf: str | None) -> Item:
    return Item(item_id=item_id, title=item_id, categories=(("Root", leaf),) if leaf else None)


def _session(sid: str, split: str, items: list[Item], bundles: list[tuple[str, ...]]) -> Session:
    return Session(
        session_id=sid,
        domain="d",
        split=split,  # type: ignore[arg-type]
        items=tuple(items),
        bundles=tuple(Bundle(items=b) for b in bundles),
    )


def test_bundle_transactions_skip_unlabelled_and_refuse_test() -> None:
    train = _session(
        "1",
        "train",
        [_item("a", "Mice"), _item("b", "Keyboards"), _item("c", None), _item("d", None)],
        [("a", "b", "c"), ("c", "d")],
    )
    assert bundle_transactions([train]) == [frozenset({"Mice", "Keyboards"})]
    assert bundle_transactions([train], "depth-1") == [frozenset({"Root"})]
    test = _session("2", "test", [_item("a", "Mice"), _item("b", "Mice")], [("a", "b")])
    with pytest.raises(LeakageError, match="from the test split feed pattern mining"):
        bundle_transactions([train, test])
    with pytest.raises(LeakageError):
        mine_repeat_patterns([test])


def test_repeat_patterns() -> None:
    # 4 bundles; "Tea" is in 3 of them and appears twice in 2: support 0.5, confidence 2/3.
    sessions = [
        _session("1", "train", [_item("a", "Tea"), _item("b", "Tea")], [("a", "b")]),
        _session(
            "2",
            "train",
            [_item("a", "Tea"), _item("b", "Tea"), _item("c", "Mugs")],
            [("a", "b", "c")],
        ),
        _session("3", "train", [_item("a", "Tea"), _item("c", "Mugs")], [("a", "c")]),
        _session("4", "train", [_item("c", "Mugs"), _item("d", "Honey")], [("c", "d")]),
    ]
    (tea,) = mine_repeat_patterns(sessions, min_support=0.1, min_confidence=0.1)
    assert tea.categories == ("Tea", "Tea")
    assert tea.is_repeat
    assert (tea.support, tea.count, tea.confidence) == (0.5, 2, pytest.approx(2 / 3))
    assert tea.lift == pytest.approx((2 / 3) / 0.75)
    assert tea.text.startswith("Several Tea items are often bundled together (support 0.50")
    combined = mine_session_patterns(sessions, min_support=0.1, min_confidence=0.1)
    assert ("Tea", "Tea") in {p.categories for p in combined}
    assert ("Mugs", "Tea") in {p.categories for p in combined}
    plain = mine_session_patterns(sessions, min_support=0.1, min_confidence=0.1, repeats=False)
    assert all(not p.is_repeat for p in plain)


def test_sample_training_bundles_give_patterns() -> None:
    train = load_sessions("sample", domains=["electronic"], split="train")
    patterns = mine_session_patterns(train, min_support=0.05, min_confidence=0.3)
    assert patterns, "the sample data is built so that accessories recur in bundles"
    assert patterns == mine_session_patterns(train, min_support=0.05, min_confidence=0.3)
    assert all(p.support >= 0.05 and p.confidence >= 0.3 for p in patterns)
