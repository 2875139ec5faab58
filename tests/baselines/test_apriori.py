"""Apriori baseline: grouping rule, sample data, leak guard, and the real data (optional)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundlekd.baselines.apriori import (
    AprioriBaseline,
    AprioriConfig,
    fired_patterns,
    group_items,
)
from bundlekd.data.schema import Item, Session
from bundlekd.data.sources import load_sessions
from bundlekd.errors import LeakageError
from bundlekd.eval import EvalConfig, evaluate
from bundlekd.knowledge_base.distill.patterns import FrequentPattern
from bundlekd.llm.embeddings import HashingEmbedder


def _pattern(*categories: str, confidence: float = 0.5) -> FrequentPattern:
    return FrequentPattern(
        categories=tuple(categories),
        support=0.1,
        count=3,
        confidence=confidence,
        lift=2.0,
        antecedent=categories[:1],
        consequent=categories[1:],
    )


def test_fired_patterns_need_all_categories() -> None:
    patterns = [_pattern("A", "B"), _pattern("A", "B", "C"), _pattern("D", "D"), _pattern("E", "E")]
    labels = ["A", "B", None, "D", "D", "E"]
    fired = fired_patterns(labels, patterns)
    assert [p.categories for p in fired] == [("A", "B"), ("D", "D")]


def test_group_items_connected_components() -> None:
    labels = ["A", "X", "B", "C", "D", "D", None]
    groups = group_items(labels, [_pattern("A", "B"), _pattern("B", "C"), _pattern("D", "D")])
    # A-B-C chain into one bundle, the two D items form another; X and None stay alone.
    assert groups == [[0, 2, 3], [4, 5]]
    assert group_items(labels, []) == []


def _sample(split: str) -> list[Session]:
    return load_sessions("sample", split=split)


@pytest.fixture(scope="module")
def sample_baseline() -> AprioriBaseline:
    config = AprioriConfig(min_support=0.05, min_confidence=0.2)
    return AprioriBaseline(config, HashingEmbedder()).fit(_sample("train"))


def test_sample_predictions_are_valid(sample_baseline: AprioriBaseline) -> None:
    test = _sample("test")
    predictions = sample_baseline.predict(test)
    assert [p.key for p in predictions] == [s.key for s in test]
    assert set(sample_baseline.patterns) == {"clothing", "electronic", "food"}
    for prediction, session in zip(predictions, test, strict=True):
        assert prediction.parsed
        assert prediction.method == "apriori"
        ids = {item.item_id for item in session.items}
        seen: set[str] = set()
        for bundle in prediction.bundles:
            assert 2 <= len(bundle.items) <= 10
            assert set(bundle.items) <= ids
            assert not seen & set(bundle.items), "components are disjoint"
            seen |= set(bundle.items)
            assert bundle.intent
    assert sum(1 for p in predictions if p.bundles) >= len(test) // 2
    report = evaluate(predictions, test, EvalConfig(with_floor=False))
    assert report.group().headline.precision > 0.3


def _predict_untimed(baseline: AprioriBaseline, sessions: list[Session]) -> list:
    return [p.model_copy(update={"latency_s": 0.0}) for p in baseline.predict(sessions)]


def test_apriori_reads_titles_only(sample_baseline: AprioriBaseline) -> None:
    """Leak guard: categories on test items (as a careless loader might add) change nothing."""
    train_cats = {
        i.item_id: i.categories for s in _sample("train") for i in s.items if i.categories
    }
    test = _sample("test")
    assert all(item.categories is None for s in test for item in s.items)
    leaky = [
        s.model_copy(
            update={
                "items": tuple(
                    i.model_copy(update={"categories": train_cats.get(i.item_id)}) for i in s.items
                )
            }
        )
        for s in test
    ]
    baseline = _predict_untimed(sample_baseline, test)
    assert _predict_untimed(sample_baseline, leaky) == baseline
    assert _predict_untimed(sample_baseline, [s.public() for s in test]) == baseline


def test_fit_refuses_test_sessions() -> None:
    with pytest.raises(LeakageError, match="from the test split feed the Apriori baseline"):
        AprioriBaseline(AprioriConfig(), HashingEmbedder()).fit(_sample("all"))


def test_nothing_fires_gives_an_empty_valid_prediction(sample_baseline: AprioriBaseline) -> None:
    odd = Session(
        session_id="odd",
        domain="food",
        items=(Item(item_id="z1", title="qqq"), Item(item_id="z2", title="www")),
    )
    (prediction,) = sample_baseline.predict([odd])
    assert prediction.parsed
    assert prediction.bundles == ()


def test_real_test_split_with_minilm(data_dir: Path) -> None:
    """One real domain, real MiniLM titles, inferred categories (~15 s on 2 idle cores)."""
    train = load_sessions("aicl", domains=["food"], split="train", data_dir=data_dir)
    test = load_sessions("aicl", domains=["food"], split="test", data_dir=data_dir)
    assert all(item.categories is None for s in test for item in s.items)
    predictions = AprioriBaseline().fit(train).predict(test)
    assert len(predictions) == 180
    assert all(p.parsed and p.method == "apriori" for p in predictions)
    report = evaluate(predictions, test, EvalConfig(with_floor=True))
    group = report.group("food")
    # Measured: strict precision ~0.3-0.4 and about half the sessions with a bundle.
    assert group.headline.precision > 0.2
    assert group.headline.recall > 0.15
    assert sum(1 for p in predictions if p.bundles) > 60
