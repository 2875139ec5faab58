"""The array-built `DomainMemory` equals, array for array, the loop-built one it replaced.

`ReferenceMemory` below is the constructor as it was before the tool's rebuild was vectorised
(issue 23), kept verbatim as the slow reference.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from bundlekd.knowledge_base.grouping.memory import Category, DomainMemory, MemorySession
from bundlekd.llm.embeddings import Embedder, HashingEmbedder


class ReferenceMemory:
    """`DomainMemory.__init__` before issue 23 (pairs, labels and counts by Python loops)."""

    def __init__(self, sessions: list[MemorySession], embedder: Embedder) -> None:
        self.sessions = sessions
        titles = [t for s in sessions for t in s.titles]
        self.vectors = embedder.embed_batch(titles).astype(np.float32)
        slot_session, in_bundle, categories = [], [], []
        pair_a, pair_b, pair_y, pair_session = [], [], [], []
        offset = 0
        for k, session in enumerate(sessions):
            n = len(session.titles)
            bundled = set().union(*session.bundles) if session.bundles else set()
            together = np.zeros((n, n), dtype=bool)
            for bundle in session.bundles:
                members = sorted(bundle)
                together[np.ix_(members, members)] = True
            slot_session += [k] * n
            in_bundle += [float(i in bundled) for i in range(n)]
            categories += session.categories
            for a in range(n):
                for b in range(n):
                    if a != b:
                        pair_a.append(offset + a)
                        pair_b.append(offset + b)
                        pair_y.append(float(together[a, b]))
                        pair_session.append(k)
            offset += n
        self.slot_session = np.array(slot_session, dtype=np.int64)
        self.in_bundle = np.array(in_bundle, dtype=np.float32)
        self.categories = categories
        self.has_category = np.array([c is not None for c in categories], dtype=bool)
        self.pair_a = np.array(pair_a, dtype=np.int64)
        self.pair_b = np.array(pair_b, dtype=np.int64)
        self.pair_y = np.array(pair_y, dtype=np.float32)
        self.pair_session = np.array(pair_session, dtype=np.int64)
        self.prior = float(self.pair_y.mean()) if len(self.pair_y) else 0.0
        self.category_pairs: dict[tuple[Category, Category], list[float]] = defaultdict(
            lambda: [0.0, 0.0]
        )
        self.own_category_pairs: dict[int, list[tuple[tuple[Category, Category], float]]] = (
            defaultdict(list)
        )
        for a, b, y, k in zip(pair_a, pair_b, pair_y, pair_session, strict=True):
            ca, cb = categories[a], categories[b]
            if ca is None or cb is None:
                continue
            key = (ca[:4], cb[:4])
            self.category_pairs[key][0] += y
            self.category_pairs[key][1] += 1
            self.own_category_pairs[k].append((key, y))
        counts = np.array([len(s.titles) for s in sessions], dtype=np.int64)
        self.slot_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.session_pairs = counts * (counts - 1)
        self.pair_start = np.concatenate([[0], np.cumsum(self.session_pairs)]).astype(np.int64)
        codes: dict[Category, int] = {}
        table = np.full((len(self.categories), 4), -1, dtype=np.int64)
        for slot, category in enumerate(self.categories):
            if category is not None:
                for column, part in enumerate((category[:2], category[:3], category[:4], category)):
                    table[slot, column] = codes.setdefault(part, len(codes))
        for left, right in self.category_pairs:
            codes.setdefault(left, len(codes))
            codes.setdefault(right, len(codes))
        self.category_codes = table
        self.category_code_of = codes
        width = len(codes) + 1
        keys = [codes[a] * width + codes[b] for a, b in self.category_pairs]
        order = np.argsort(np.array(keys, dtype=np.int64), kind="stable")
        counted = list(self.category_pairs.values())
        self.category_pair_keys = np.array(keys, dtype=np.int64)[order]
        self.category_pair_positive = np.array([c[0] for c in counted], dtype=np.float64)[order]
        self.category_pair_total = np.array([c[1] for c in counted], dtype=np.float64)[order]
        largest = int(self.category_pair_total.max()) if len(counted) else 0
        self.log1p_counts = np.array([np.log1p(float(t)) for t in range(largest + 1)])


PATHS: list[Category] = [("a", "b"), ("a", "b", "c"), ("a", "b", "c", "d")]
PATHS += [("a", "b", "c", "d", "e"), ("x", "y", "z", "w"), ("a", "q"), ("x",)]
ARRAYS = (
    "vectors",
    "slot_session",
    "in_bundle",
    "has_category",
    "pair_a",
    "pair_b",
    "pair_y",
    "pair_session",
    "slot_start",
    "session_pairs",
    "pair_start",
    "category_codes",
    "category_pair_keys",
    "category_pair_positive",
    "category_pair_total",
    "log1p_counts",
)


def _sessions(seed: int, count: int) -> list[MemorySession]:
    rng = np.random.default_rng(seed)
    built = []
    for k in range(count):
        session = MemorySession("d", f"s{k:03d}")
        for _ in range(int(rng.integers(0 if k % 7 == 0 else 1, 12))):
            session.slot(f"item{rng.integers(80)}")
        n = len(session.titles)
        for _ in range(int(rng.integers(0, 4)) if n else 0):
            size = min(n, int(rng.integers(1, 5)))  # a one-item "bundle" marks its item only
            members = set(rng.choice(n, size=size, replace=False).tolist())
            if members not in session.bundles:
                session.bundles.append(members)
        session.categories = [
            PATHS[int(rng.integers(len(PATHS)))] if rng.random() < 0.7 else None for _ in range(n)
        ]
        built.append(session)
    return built


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("count", [0, 1, 5, 60])
def test_the_vectorised_memory_equals_the_loop_built_one(seed: int, count: int) -> None:
    sessions = _sessions(seed, count)
    fast = DomainMemory(sessions, HashingEmbedder(32))
    slow = ReferenceMemory(sessions, HashingEmbedder(32))
    for name in ARRAYS:
        mine, theirs = getattr(fast, name), getattr(slow, name)
        assert mine.dtype == theirs.dtype, name
        assert mine.shape == theirs.shape, name
        assert mine.tobytes() == theirs.tobytes(), name
    assert fast.prior == slow.prior
    assert fast.categories == slow.categories
    assert fast.category_code_of == slow.category_code_of
    assert fast.category_pairs == dict(slow.category_pairs)
    assert fast.own_category_pairs == dict(slow.own_category_pairs)


@pytest.mark.parametrize("seed", range(3))
def test_own_counts_are_the_sessions_share_of_the_counts(seed: int) -> None:
    sessions = _sessions(seed, 30)
    memory = DomainMemory(sessions, HashingEmbedder(16))
    slow = ReferenceMemory(sessions, HashingEmbedder(16))
    width = len(memory.category_code_of) + 1
    for k in range(len(sessions)):
        keys, positive, total = memory.own_category_counts(k)
        expected: dict[int, list[float]] = {}
        for (a, b), y in slow.own_category_pairs.get(k, []):
            key = memory.category_code_of[a] * width + memory.category_code_of[b]
            counts = expected.setdefault(key, [0.0, 0.0])
            counts[0] += y
            counts[1] += 1
        assert keys.tolist() == sorted(expected)
        assert positive.tolist() == [expected[key][0] for key in sorted(expected)]
        assert total.tolist() == [expected[key][1] for key in sorted(expected)]
        assert keys.dtype == np.int64
        assert positive.dtype == total.dtype == np.float64
