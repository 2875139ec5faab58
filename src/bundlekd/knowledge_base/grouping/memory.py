"""The training memory of the learned scorer, rebuilt from the KB's exemplars.

Exemplars of one training session (their `source_session_ids`) together give back that
session: every item title, which items sat in a bundle, which pairs were bundled together, and
the training items' category paths. Per domain, `DomainMemory` holds those sessions with the
title vectors of the scorer's embedder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.llm.embeddings import Embedder

Category = tuple[str, ...]


@dataclass(slots=True)
class MemorySession:
    """One training session as its exemplars describe it."""

    domain: str
    session_id: str
    titles: list[str] = field(default_factory=list)
    bundles: list[set[int]] = field(default_factory=list)  # slot indices per GT bundle
    categories: list[Category | None] = field(default_factory=list)

    def slot(self, title: str) -> int:
        if title not in self.titles:
            self.titles.append(title)
            self.categories.append(None)
            return len(self.titles) - 1
        return self.titles.index(title)


def memory_sessions(items: Iterable[KnowledgeItem]) -> dict[str, list[MemorySession]]:
    """Training sessions per domain, rebuilt from active exemplars (deterministic order)."""
    sessions: dict[tuple[str, str], MemorySession] = {}
    exemplars = sorted(
        (i for i in items if i.kind == "exemplar" and i.status == "active"), key=lambda i: i.id
    )
    slots: dict[tuple[str, str], dict[str, int]] = {}  # per session: title -> slot
    for item in exemplars:
        titles = [str(t) for t in item.stats.get("titles", [])]
        others = [str(t) for t in item.stats.get("others", [])]
        paths = item.stats.get("title_categories", {}) or {}
        for session_id in item.source_session_ids:
            key = (item.domain, session_id)
            session = sessions.get(key)
            if session is None:
                session = sessions[key] = MemorySession(item.domain, session_id)
                slots[key] = {}
            where = slots[key]
            members = {_slot(session, where, t) for t in titles}
            for title in others:
                _slot(session, where, title)
            if len(members) >= 2 and members not in session.bundles:
                session.bundles.append(members)
            for title, path in paths.items():
                at = where.get(title)
                if at is not None and path:
                    session.categories[at] = tuple(path)
    by_domain: dict[str, list[MemorySession]] = defaultdict(list)
    for key in sorted(sessions):
        by_domain[key[0]].append(sessions[key])
    return dict(by_domain)


def _slot(session: MemorySession, where: dict[str, int], title: str) -> int:
    """`session.slot(title)` with a title -> slot table (no list scans)."""
    at = where.get(title)
    if at is None:
        at = where[title] = len(session.titles)
        session.titles.append(title)
        session.categories.append(None)
    return at


class DomainMemory:
    """One domain's training sessions with title vectors, pair labels and category counts.

    Built with array operations only (no loop over pairs): the tool is rebuilt from the KB on
    every knowledge change, so this runs on a live service's reload path.
    """

    def __init__(self, sessions: list[MemorySession], embedder: Embedder) -> None:
        self.sessions = sessions
        self.index = {s.session_id: k for k, s in enumerate(sessions)}
        titles = [t for s in sessions for t in s.titles]
        self.vectors = embedder.embed_batch(titles).astype(np.float32, copy=False)
        sizes = np.array([len(s.titles) for s in sessions], dtype=np.int64)
        self._index_layout(sizes)
        numbers = np.arange(len(sessions), dtype=np.int64)
        self.slot_session = np.repeat(numbers, sizes)
        self.pair_session = np.repeat(numbers, self.session_pairs)
        self.pair_a, self.pair_b = self._pairs(sizes)
        self.in_bundle, self.pair_y = self._labels(sizes)
        self.categories: list[Category | None] = [c for s in sessions for c in s.categories]
        self.has_category = np.array([c is not None for c in self.categories], dtype=bool)
        self.prior = float(self.pair_y.mean()) if len(self.pair_y) else 0.0
        self._index_categories()

    def _index_layout(self, sizes: np.ndarray) -> None:
        """Where each session's slots and pairs sit: both are contiguous per session (its
        pairs a-major: (a, b) for every b != a), which the kernel's pruning relies on."""
        counts = np.asarray(sizes, dtype=np.int64)
        self.slot_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.session_pairs = counts * (counts - 1)
        self.pair_start = np.concatenate([[0], np.cumsum(self.session_pairs)]).astype(np.int64)

    def _pairs(self, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every ordered pair of distinct slots per session, a-major, as global slot numbers."""
        session = self.pair_session
        local = np.arange(len(session), dtype=np.int64) - self.pair_start[session]
        a, b = _local_pair(local, sizes[session])
        offset = self.slot_start[session]
        return offset + a, offset + b

    def _labels(self, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(in_bundle per slot, pair_y per pair): whether a slot sits in a GT bundle, and
        whether a pair's two slots share one."""
        members: list[int] = []
        bundle_sizes: list[int] = []
        bundle_session: list[int] = []
        for k, session in enumerate(self.sessions):
            for group in session.bundles:
                members.extend(group)
                bundle_sizes.append(len(group))
                bundle_session.append(k)
        flat = np.array(members, dtype=np.int64)
        width = np.array(bundle_sizes, dtype=np.int64)
        owner = np.array(bundle_session, dtype=np.int64)
        in_bundle = np.zeros(int(self.slot_start[-1]), dtype=np.float32)
        in_bundle[self.slot_start[np.repeat(owner, width)] + flat] = 1.0
        pair_y = np.zeros(int(self.pair_start[-1]), dtype=np.float32)
        counts = width * (width - 1)
        if counts.sum():
            bundle = np.repeat(np.arange(len(width), dtype=np.int64), counts)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
            local = np.arange(int(counts.sum()), dtype=np.int64) - starts[bundle]
            i, j = _local_pair(local, width[bundle])
            first = np.concatenate([[0], np.cumsum(width)[:-1]]).astype(np.int64)[bundle]
            a, b = flat[first + i], flat[first + j]
            held = owner[bundle]  # each pair's memory session
            pair_y[self.pair_start[held] + a * (sizes[held] - 1) + b - (b > a)] = 1.0
        return in_bundle, pair_y

    def _index_categories(self) -> None:
        """Integer codes of every slot's category (prefixes of depth 2, 3, 4 and the whole
        path; -1: none) and the co-bundle counts of category pairs (4-level prefixes) keyed by
        the depth-4 codes, so the pair features compare and look up categories as arrays."""
        codes: dict[Category, int] = {}
        rows: dict[Category, list[int]] = {}
        table = np.full((len(self.categories), 4), -1, dtype=np.int64)
        for slot, category in enumerate(self.categories):
            if category is None:
                continue
            row = rows.get(category)
            if row is None:
                parts = (category[:2], category[:3], category[:4], category)
                row = rows[category] = [codes.setdefault(p, len(codes)) for p in parts]
            table[slot] = row
        self.category_codes = table
        self.category_code_of = codes
        depth4 = table[:, 2]
        both = self.has_category[self.pair_a] & self.has_category[self.pair_b]
        keys = np.where(both, self.pair_key(depth4[self.pair_a], depth4[self.pair_b]), -1)
        #: Per pair, its category-pair key (-1: a slot without a category).
        self.pair_category_key = np.asarray(keys, dtype=np.int64)
        self.category_pair_keys, self.category_pair_positive, self.category_pair_total = (
            _key_counts(self.pair_category_key, self.pair_y)
        )
        # log1p of every count a pair can have, each as `np.log1p(float)` gives it.
        largest = int(self.category_pair_total.max()) if len(self.category_pair_total) else 0
        self.log1p_counts = np.log1p(np.arange(largest + 1, dtype=np.float64))

    def own_category_counts(self, exclude: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Session `exclude`'s share of the category-pair counts: (sorted keys, positives,
        totals), so a training query can leave its own session out."""
        window = slice(int(self.pair_start[exclude]), int(self.pair_start[exclude + 1]))
        return _key_counts(self.pair_category_key[window], self.pair_y[window])

    @property
    def category_pairs(self) -> dict[tuple[Category, Category], list[float]]:
        """The co-bundle counts as [positives, total] per (category, category) prefix pair
        (a readable view of the arrays, built on each call)."""
        names = list(self.category_code_of)
        width = len(names) + 1
        return {
            (names[int(key) // width], names[int(key) % width]): [float(p), float(t)]
            for key, p, t in zip(
                self.category_pair_keys,
                self.category_pair_positive,
                self.category_pair_total,
                strict=True,
            )
        }

    @property
    def own_category_pairs(self) -> dict[int, list[tuple[tuple[Category, Category], float]]]:
        """Per session, its pairs' (category-pair prefixes, label) in pair order (a readable
        view of the arrays, built on each call)."""
        names = list(self.category_code_of)
        width = len(names) + 1
        found: dict[int, list[tuple[tuple[Category, Category], float]]] = {}
        for p in np.flatnonzero(self.pair_category_key >= 0).tolist():
            key = int(self.pair_category_key[p])
            found.setdefault(int(self.pair_session[p]), []).append(
                ((names[key // width], names[key % width]), float(self.pair_y[p]))
            )
        return found

    def pair_key(self, a: int | np.ndarray, b: int | np.ndarray) -> int | np.ndarray:
        """One integer per (category code, category code) pair."""
        return a * (len(self.category_code_of) + 1) + b

    def __len__(self) -> int:
        return len(self.sessions)


def _local_pair(local: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The `local`-th ordered pair (a, b), b != a, of `sizes` slots, a-major."""
    others = np.maximum(sizes - 1, 1)
    a = local // others
    b = local % others
    return a, b + (b >= a)


def _key_counts(keys: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted distinct keys >= 0, positive labels per key, pairs per key), float64 counts."""
    used = keys >= 0
    distinct, inverse, counts = np.unique(keys[used], return_inverse=True, return_counts=True)
    positive = np.bincount(
        inverse.ravel(), weights=labels[used].astype(np.float64), minlength=len(distinct)
    )
    return distinct.astype(np.int64), positive.astype(np.float64), counts.astype(np.float64)
