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
        return self.titles.index(title)


def memory_sessions(items: Iterable[KnowledgeItem]) -> dict[str, list[MemorySession]]:
    """Training sessions per domain, rebuilt from active exemplars (deterministic order)."""
    sessions: dict[tuple[str, str], MemorySession] = {}
    exemplars = sorted(
        (i for i in items if i.kind == "exemplar" and i.status == "active"), key=lambda i: i.id
    )
    for item in exemplars:
        titles = [str(t) for t in item.stats.get("titles", [])]
        others = [str(t) for t in item.stats.get("others", [])]
        paths = item.stats.get("title_categories", {}) or {}
        for session_id in item.source_session_ids:
            key = (item.domain, session_id)
            session = sessions.setdefault(key, MemorySession(item.domain, session_id))
            members = {session.slot(t) for t in titles}
            for title in others:
                session.slot(title)
            if len(members) >= 2 and members not in session.bundles:
                session.bundles.append(members)
            for title, path in paths.items():
                if title in session.titles and path:
                    session.categories[session.titles.index(title)] = tuple(path)
    by_domain: dict[str, list[MemorySession]] = defaultdict(list)
    for key in sorted(sessions):
        by_domain[key[0]].append(sessions[key])
    return dict(by_domain)


class DomainMemory:
    """One domain's training sessions with title vectors, pair labels and category counts."""

    def __init__(self, sessions: list[MemorySession], embedder: Embedder) -> None:
        self.sessions = sessions
        self.index = {s.session_id: k for k, s in enumerate(sessions)}
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
        # Co-bundle counts of category pairs (4-level prefixes), and each session's share of
        # them, so a training query can leave its own session out.
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
        self._index_layout([len(s.titles) for s in sessions])
        self._index_categories()

    def _index_layout(self, sizes: list[int]) -> None:
        """Where each session's slots and pairs sit: both are contiguous per session (its
        pairs a-major: (a, b) for every b != a), which the kernel's pruning relies on."""
        counts = np.array(sizes, dtype=np.int64)
        self.slot_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.session_pairs = counts * (counts - 1)
        self.pair_start = np.concatenate([[0], np.cumsum(self.session_pairs)]).astype(np.int64)

    def _index_categories(self) -> None:
        """Integer codes of every slot's category (prefixes of depth 2, 3, 4 and the whole
        path; -1: none) and the category-pair counts keyed by the depth-4 codes, so the pair
        features compare and look up categories as arrays."""
        codes: dict[Category, int] = {}
        table = np.full((len(self.categories), 4), -1, dtype=np.int64)
        for slot, category in enumerate(self.categories):
            if category is not None:
                for column, part in enumerate((category[:2], category[:3], category[:4], category)):
                    table[slot, column] = codes.setdefault(part, len(codes))
        for a, b in self.category_pairs:
            codes.setdefault(a, len(codes))
            codes.setdefault(b, len(codes))
        self.category_codes = table
        self.category_code_of = codes
        keys = [self.pair_key(codes[a], codes[b]) for a, b in self.category_pairs]
        order = np.argsort(np.array(keys, dtype=np.int64), kind="stable")
        counts = list(self.category_pairs.values())
        self.category_pair_keys = np.array(keys, dtype=np.int64)[order]
        self.category_pair_positive = np.array([c[0] for c in counts], dtype=np.float64)[order]
        self.category_pair_total = np.array([c[1] for c in counts], dtype=np.float64)[order]
        # log1p of every count a pair can have, each as `np.log1p(float)` gives it (the
        # per-pair features used that call; a table keeps them bit for bit).
        largest = int(self.category_pair_total.max()) if len(counts) else 0
        self.log1p_counts = np.array([np.log1p(float(t)) for t in range(largest + 1)])

    def pair_key(self, a: int | np.ndarray, b: int | np.ndarray) -> int | np.ndarray:
        """One integer per (category code, category code) pair."""
        return a * (len(self.category_code_of) + 1) + b

    def __len__(self) -> int:
        return len(self.sessions)
