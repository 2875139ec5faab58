"""Training-session sampling: every strategy is deterministic and does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from bundlekd.data.sampling import STRATEGIES, sample_sessions, sample_size, session_features
from bundlekd.data.schema import Bundle, Item, Session
from bundlekd.data.sources import load_sample
from bundlekd.errors import ConfigError, DataError


def _session(
    sid: str, n_items: int, n_bundles: int = 1, domain: str = "electronic", category: str = ""
) -> Session:
    items = tuple(
        Item(
            item_id=f"{sid}-{i}",
            title=f"{category or sid} thing {i}",
            categories=((("Root", category),) if category else None),
        )
        for i in range(n_items)
    )
    bundles = tuple(
        Bundle(items=(items[2 * b].item_id, items[2 * b + 1].item_id)) for b in range(n_bundles)
    )
    return Session(session_id=sid, domain=domain, items=items, bundles=bundles, split="train")


SESSIONS = [_session(f"s{i}", 4 + (i * 3) % 7, 1 + i % 2) for i in range(20)]


def test_sample_size_rounds_and_keeps_at_least_one() -> None:
    assert sample_size(623, 0.1) == 62
    assert sample_size(5, 0.01) == 1
    assert sample_size(0, 0.5) == 0
    with pytest.raises(ConfigError):
        sample_size(10, 0)
    with pytest.raises(ConfigError):
        sample_size(10, 1.5)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_is_deterministic_for_a_seed(strategy: str) -> None:
    first = sample_sessions(SESSIONS, 0.3, strategy, seed=3)
    again = sample_sessions(SESSIONS, 0.3, strategy, seed=3)
    assert [s.session_id for s in first] == [s.session_id for s in again]
    assert len(first) == 6
    assert len({s.session_id for s in first}) == 6


def test_random_depends_on_the_seed() -> None:
    picks = {
        tuple(s.session_id for s in sample_sessions(SESSIONS, 0.3, "random", seed=k))
        for k in range(5)
    }
    assert len(picks) > 1


def test_length_takes_the_longest_sessions() -> None:
    chosen = sample_sessions(SESSIONS, 0.25, "length", seed=0)
    longest = sorted((len(s.items) for s in SESSIONS), reverse=True)[:5]
    assert sorted((len(s.items) for s in chosen), reverse=True) == longest


def test_difficulty_defaults_to_the_number_of_gt_bundles() -> None:
    chosen = sample_sessions(SESSIONS, 0.5, "difficulty", seed=0)
    assert all(len(s.bundles or ()) == 2 for s in chosen)


def test_difficulty_from_given_scores_sequence_or_mapping() -> None:
    scores = [float(i) for i in range(len(SESSIONS))]
    chosen = sample_sessions(SESSIONS, 0.1, "difficulty", seed=0, difficulty=scores)
    assert [s.session_id for s in chosen] == ["s19", "s18"]
    by_id = {s.session_id: -float(i) for i, s in enumerate(SESSIONS)}
    chosen = sample_sessions(SESSIONS, 0.1, "difficulty", seed=0, difficulty=by_id)
    assert [s.session_id for s in chosen] == ["s0", "s1"]
    with pytest.raises(DataError):
        sample_sessions(SESSIONS, 0.1, "difficulty", difficulty=[1.0, 2.0])
    with pytest.raises(DataError):
        sample_sessions(SESSIONS, 0.1, "difficulty", difficulty={"s0": 1.0})


def test_diversity_on_categories_covers_the_categories() -> None:
    sessions = [_session(f"c{i}", 3, category=f"cat{i % 3}") for i in range(12)]
    chosen = sample_sessions(sessions, 0.25, "diversity", seed=1)
    assert len(chosen) == 3
    # Three sessions, three different categories: farthest-point never picks a duplicate first.
    assert {next(iter(session_features(s))) for s in chosen} == {
        "Root > cat0",
        "Root > cat1",
        "Root > cat2",
    }


def test_diversity_on_vectors() -> None:
    # Two tight clusters: the second pick must come from the other cluster.
    vectors = np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 5) + 0.01 * np.arange(10)[:, None]
    sessions = SESSIONS[:10]
    chosen = sample_sessions(sessions, 0.2, "diversity", seed=0, vectors=vectors)
    index = [sessions.index(s) for s in chosen]
    assert (index[0] < 5) != (index[1] < 5)
    with pytest.raises(DataError):
        sample_sessions(sessions, 0.2, "diversity", vectors=vectors[:3])


def test_title_words_stand_in_for_missing_categories() -> None:
    session = _session("t", 2)
    assert session_features(session) == frozenset({"t", "thing", "0", "1"})


def test_several_domains_are_sampled_separately_then_pooled() -> None:
    pool = [_session(f"e{i}", 3) for i in range(10)] + [
        _session(f"f{i}", 3, domain="food") for i in range(30)
    ]
    chosen = sample_sessions(pool, 0.1, "random", seed=0)
    assert [s.domain for s in chosen] == ["electronic"] + ["food"] * 3
    alone = sample_sessions(pool[10:], 0.1, "random", seed=0)
    assert chosen[1:] == alone  # adding a domain does not change another domain's sample


def test_unknown_strategy() -> None:
    with pytest.raises(ConfigError, match="unknown sampling strategy"):
        sample_sessions(SESSIONS, 0.5, "smart")


def test_on_the_shipped_sample() -> None:
    train = load_sample().split("train")
    chosen = sample_sessions(train, 0.5, "diversity", seed=0)
    assert len(chosen) == sum(sample_size(n, 0.5) for n in (12, 12, 12))
    assert {s.domain for s in chosen} == {"electronic", "clothing", "food"}
