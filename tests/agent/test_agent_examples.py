"""ExampleIndex: nearest training sessions by title embedding, never the query itself."""

from __future__ import annotations

from bundlekd.agent.examples import ExampleIndex
from bundlekd.llm.embeddings import HashingEmbedder


def test_nearest_returns_the_most_similar_training_session(train_sessions, session_factory):
    index = ExampleIndex(train_sessions, HashingEmbedder())
    query = session_factory("q", ["Dark roast coffee beans", "Coffee filters paper", "Milk jug"])
    assert [s.session_id for s in index.nearest(query, 1)] == ["t3"]
    assert len(index.nearest(query, 10)) == 3


def test_a_session_is_never_its_own_example(train_sessions):
    index = ExampleIndex(train_sessions, HashingEmbedder())
    neighbours = index.nearest(train_sessions[0], 2)
    assert "t1" not in [s.session_id for s in neighbours]
    assert len(neighbours) == 2


def test_same_domain_is_preferred_and_sessions_without_gt_are_skipped(
    train_sessions, session_factory
):
    food = session_factory("f1", ["Coffee beans", "Sugar"], [((1, 2), "coffee")], domain="food")
    unlabeled = session_factory("u1", ["Coffee beans dark roast", "Paper coffee filters"], None)
    index = ExampleIndex([*train_sessions, food, unlabeled], HashingEmbedder())
    assert len(index) == 4
    query = session_factory("q", ["Coffee beans dark roast", "Paper coffee filters"])
    assert [s.session_id for s in index.nearest(query, 1)] == ["t3"]
    food_query = session_factory("q2", ["Camera bag"], domain="food")
    assert [s.session_id for s in index.nearest(food_query, 3)] == ["f1"]
    other = session_factory("q3", ["Coffee beans"], domain="clothing")
    assert len(index.nearest(other, 2)) == 2  # no clothing candidates: fall back to all


def test_batch_and_empty_cases(train_sessions, test_sessions):
    index = ExampleIndex(train_sessions, HashingEmbedder())
    batch = index.nearest_batch(test_sessions, 1)
    assert [[s.session_id for s in row] for row in batch] == [["t1"]] * len(test_sessions)
    assert index.nearest_batch(test_sessions, 0) == [[] for _ in test_sessions]
    assert ExampleIndex([], HashingEmbedder()).nearest(test_sessions[0], 2) == []
