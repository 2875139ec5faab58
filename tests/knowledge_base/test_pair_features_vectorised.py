"""The vectorised pair features equal, bit for bit, the one-pair-at-a-time code they replaced.

`reference_pair_features` below is that code as it was (main before issue 23), kept verbatim as
the slow reference: random memories with repeated titles (exact ties between memory pairs, with
different labels) and coarse vectors (many ties) exercise the kernel's pruning and its fallback.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from bundlekd.knowledge_base.grouping.features import (
    FEATURE_NAMES,
    pair_features,
    pair_features_batch,
)
from bundlekd.knowledge_base.grouping.memory import Category, DomainMemory, MemorySession
from bundlekd.knowledge_base.index.topk import stable_top_k
from bundlekd.llm.embeddings import Embedder

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = {"for", "and", "with", "the", "of", "in", "a", "to", "by", "on", "pack", "inch", "x", "s"}
NEIGHBOURS = 10
KERNEL_SIZES = (5, 20)
KERNEL_WINDOW = 50
KERNEL_TEMPERATURE = 0.1
SMOOTHING = 5.0


def _tokens(title: str) -> list[str]:
    return _TOKEN.findall(title.lower())


# --- the reference (verbatim but for names) -------------------------------------------------
def reference_pair_features(
    vectors: np.ndarray,
    titles: list[str],
    memory: DomainMemory,
    exclude: int | None = None,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(features, pairs): one row per item pair (i < j), columns as FEATURE_NAMES.

    Args:
        vectors: (n, d) unit-norm title vectors of the session.
        titles: the n public titles.
        memory: the domain's training memory.
        exclude: index of the memory session to leave out (the query itself, when training).
    """
    n = vectors.shape[0]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if not pairs:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32), pairs
    sims = vectors @ vectors.T
    off = sims.copy()
    np.fill_diagonal(off, -np.inf)
    rank = np.empty((n, n), dtype=np.int64)
    for i in range(n):
        rank[i, np.argsort(-off[i], kind="stable")] = np.arange(n)
    values = sims[~np.eye(n, dtype=bool)]
    mean, std = float(values.mean()), float(values.std()) + 1e-6
    row_max = off.max(axis=1)

    to_memory = vectors @ memory.vectors.T  # (n, slots)
    if exclude is not None:
        to_memory[:, memory.slot_session == exclude] = -np.inf
    k = min(NEIGHBOURS, to_memory.shape[1])
    top = np.argsort(-to_memory, axis=1, kind="stable")[:, :k]
    top_sims = np.take_along_axis(to_memory, top, axis=1)
    weights = np.exp((top_sims - top_sims[:, :1]) / 0.05)
    bundled = (weights * memory.in_bundle[top]).sum(1) / weights.sum(1)
    nearest = top_sims[:, 0]
    categorised = np.where(memory.has_category[None, :], to_memory, -np.inf)
    donors = np.argmax(categorised, axis=1)
    donor_sims = categorised[np.arange(n), donors]
    inferred: list[Category | None] = [
        memory.categories[d] if np.isfinite(donor_sims[i]) else None for i, d in enumerate(donors)
    ]

    keep = np.ones(len(memory.pair_a), dtype=bool)
    if exclude is not None:
        keep = memory.pair_session != exclude
    pair_y = memory.pair_y[keep]
    sim_a, sim_b = to_memory[:, memory.pair_a[keep]], to_memory[:, memory.pair_b[keep]]
    own: dict[tuple[Category, Category], list[float]] = {}
    if exclude is not None:
        for key, y in memory.own_category_pairs.get(exclude, []):
            counts = own.setdefault(key, [0.0, 0.0])
            counts[0] += y
            counts[1] += 1

    tokens = [set(_tokens(t)) - _STOP for t in titles]
    firsts = [_tokens(t)[:1] for t in titles]
    rows = []
    for i, j in pairs:
        overlap = len(tokens[i] & tokens[j])
        union = len(tokens[i] | tokens[j]) or 1
        row = [
            sims[i, j],
            (sims[i, j] - mean) / std,
            min(row_max[i] - sims[i, j], row_max[j] - sims[i, j]),
            max(row_max[i] - sims[i, j], row_max[j] - sims[i, j]),
            min(rank[i, j], rank[j, i]),
            max(rank[i, j], rank[j, i]),
            float(rank[i, j] == 0 and rank[j, i] == 0),
            n,
            j - i,
            float(j - i == 1),
            i / (n - 1),
            j / (n - 1),
            mean,
            overlap / union,
            overlap,
            float(bool(firsts[i]) and firsts[i] == firsts[j]),
            min(bundled[i], bundled[j]),
            max(bundled[i], bundled[j]),
            min(nearest[i], nearest[j]),
            max(nearest[i], nearest[j]),
        ]
        row += _kernel(sim_a, sim_b, pair_y, i, j)
        row += _category(inferred[i], inferred[j], donor_sims[i], donor_sims[j], memory, own)
        rows.append(row)
    features = np.nan_to_num(np.array(rows, dtype=np.float64), neginf=0.0, posinf=0.0)
    return features.astype(np.float32), pairs


def _kernel(
    sim_a: np.ndarray, sim_b: np.ndarray, labels: np.ndarray, i: int, j: int
) -> list[float]:
    if labels.size == 0:
        return [0.0] * 5
    window, scores = _kernel_window(sim_a, sim_b, i, j)
    out: list[float] = []
    for k in KERNEL_SIZES:
        out += [float(labels[window[:k]].mean()), float(scores[:k].mean()) / 2]
    weights = _kernel_weights(scores)
    out.append(float((weights * labels[window]).sum() / weights.sum()))
    return out


def _kernel_window(
    sim_a: np.ndarray, sim_b: np.ndarray, i: int, j: int, size: int = KERNEL_WINDOW
) -> tuple[np.ndarray, np.ndarray]:
    """The memory pairs most like the session pair (i, j), best first, and their scores
    (`sim_a`/`sim_b`: session items x memory pairs' first/second item similarities)."""
    scores = np.maximum(sim_a[i] + sim_b[j], sim_a[j] + sim_b[i])
    # One partial sort for the widest window; the narrower top-k are its best entries.
    size = min(size, scores.size)
    window = np.argpartition(-scores, size - 1)[:size]
    window = window[np.argsort(-scores[window], kind="stable")]
    return window, scores[window]


def _kernel_weights(scores: np.ndarray) -> np.ndarray:
    """Unnormalised weights of a window's pairs (scores best first): the `kernw50` vote."""
    weights: np.ndarray = np.exp((scores - scores[0]) / KERNEL_TEMPERATURE)
    return weights


def _category(
    a: Category | None,
    b: Category | None,
    sim_a: float,
    sim_b: float,
    memory: DomainMemory,
    own: dict[tuple[Category, Category], list[float]],
) -> list[float]:
    known = a is not None and b is not None
    row = [float(known and a[:depth] == b[:depth]) for depth in (2, 3, 4)]  # type: ignore[index]
    row += [float(a == b), min(sim_a, sim_b)]
    if a is not None and b is not None:
        key = (a[:4], b[:4])
        positive, total = memory.category_pairs.get(key, [0.0, 0.0])
        own_positive, own_total = own.get(key, [0.0, 0.0])
        positive, total = positive - own_positive, total - own_total
        row += [(positive + SMOOTHING * memory.prior) / (total + SMOOTHING), float(np.log1p(total))]
    else:
        row += [memory.prior, 0.0]
    return row


# --- random memories ------------------------------------------------------------------------
WORDS = ["acme", "zen", "usb", "cable", "case", "phone", "red", "blue", "for", "pack", "tea", "cup"]


class TableEmbedder(Embedder):
    """Fixed vectors per title (repeated titles give identical vectors: exact ties)."""

    name = "table"

    def __init__(self, dim: int, seed: int, coarse: bool) -> None:
        self.dim = dim
        self.rng = np.random.default_rng(seed)
        self.coarse = coarse
        self.table: dict[str, np.ndarray] = {}

    @property
    def model_id(self) -> str:
        return "table"

    def vector(self, title: str) -> np.ndarray:
        if title not in self.table:
            if self.coarse:  # few distinct values: many equal sums
                raw = self.rng.integers(-1, 2, self.dim).astype(np.float32)
                raw[0] = 1.0
            else:
                raw = self.rng.standard_normal(self.dim).astype(np.float32)
            self.table[title] = (raw / np.linalg.norm(raw)).astype(np.float32)
        return self.table[title]

    def embed_batch(self, texts):  # type: ignore[no-untyped-def]
        return np.stack([self.vector(t) for t in texts]) if texts else np.zeros((0, self.dim))


def _title(rng: np.random.Generator, pool: int) -> str:
    words = rng.choice(WORDS, size=rng.integers(0, 4))
    return " ".join([*words, f"item{rng.integers(pool)}"])


def _memory(seed: int, coarse: bool, sessions: int = 40) -> tuple[DomainMemory, TableEmbedder]:
    rng = np.random.default_rng(seed)
    pool = 60 if coarse else 150  # titles repeat across sessions
    paths: list[Category] = [("a", "b"), ("a", "b", "c"), ("a", "b", "c", "d")]
    paths += [("a", "b", "c", "d", "e"), ("x", "y", "z", "w"), ("a", "q")]
    built = []
    for k in range(sessions):
        session = MemorySession("d", f"s{k:03d}")
        for _ in range(int(rng.integers(1 if k % 9 == 0 else 2, 11))):
            session.slot(_title(rng, pool))
        n = len(session.titles)
        for _ in range(int(rng.integers(0, 3))):
            members = set(
                rng.choice(n, size=min(n, int(rng.integers(2, 4))), replace=False).tolist()
            )
            if len(members) >= 2 and members not in session.bundles:
                session.bundles.append(members)
        session.categories = [
            paths[int(rng.integers(len(paths)))] if rng.random() < 0.7 else None for _ in range(n)
        ]
        built.append(session)
    embedder = TableEmbedder(16 if coarse else 24, seed, coarse)
    return DomainMemory(built, embedder), embedder


def _query(
    rng: np.random.Generator, embedder: TableEmbedder, n: int, pool: int
) -> tuple[np.ndarray, list[str]]:
    titles = [_title(rng, pool) for _ in range(n)]
    return embedder.embed_batch(titles).astype(np.float32), titles


@pytest.mark.parametrize("coarse", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_pair_features_equal_the_reference_bit_for_bit(seed: int, coarse: bool) -> None:
    memory, embedder = _memory(seed, coarse)
    rng = np.random.default_rng(100 + seed)
    for n in (1, 2, 3, 6, 10, 12):
        vectors, titles = _query(rng, embedder, n, 60 if coarse else 150)
        for exclude in (None, 0, int(rng.integers(len(memory)))):
            fast, pairs = pair_features(vectors, titles, memory, exclude)
            slow, slow_pairs = reference_pair_features(vectors, titles, memory, exclude)
            assert pairs == slow_pairs
            assert fast.shape == (len(pairs), len(FEATURE_NAMES))
            assert fast.dtype == slow.dtype == np.float32
            assert fast.tobytes() == slow.tobytes(), np.argwhere(fast != slow)[:5]


def test_training_sessions_leave_themselves_out_as_before() -> None:
    memory, embedder = _memory(7, coarse=False, sessions=60)
    for k, session in enumerate(memory.sessions[:20]):
        vectors = embedder.embed_batch(session.titles).astype(np.float32)
        fast, _ = pair_features(vectors, session.titles, memory, k)
        slow, _ = reference_pair_features(vectors, session.titles, memory, k)
        assert fast.tobytes() == slow.tobytes()


def test_a_tiny_memory_uses_every_pair() -> None:
    memory, embedder = _memory(3, coarse=False, sessions=3)  # fewer pairs than the window
    vectors, titles = _query(np.random.default_rng(0), embedder, 5, 150)
    fast, _ = pair_features(vectors, titles, memory)
    slow, _ = reference_pair_features(vectors, titles, memory)
    assert fast.tobytes() == slow.tobytes()


@pytest.mark.parametrize("seed", range(5))
def test_stable_top_k_is_a_stable_full_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=(7, 40)).astype(np.float32)  # many ties
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    for k in (1, 5, 10, 40):
        expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        assert np.array_equal(stable_top_k(scores, k), expected)
    assert stable_top_k(scores[:0], 3).shape == (0, 3)


@pytest.mark.parametrize("coarse", [False, True])
def test_a_batch_of_sessions_gets_the_features_each_gets_alone(coarse: bool) -> None:
    memory, embedder = _memory(11, coarse)
    rng = np.random.default_rng(5)
    queries = [_query(rng, embedder, int(n), 60 if coarse else 150) for n in (3, 1, 10, 2, 7, 0)]
    found = pair_features_batch([v for v, _ in queries], [t for _, t in queries], memory)
    assert len(found) == len(queries)
    for (vectors, titles), (fast, pairs) in zip(queries, found, strict=True):
        slow, slow_pairs = reference_pair_features(vectors, titles, memory)
        assert pairs == slow_pairs
        assert fast.tobytes() == slow.tobytes()
