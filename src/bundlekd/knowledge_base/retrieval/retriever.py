"""Retriever: top-k knowledge for a query, with per-kind quotas, MMR and a token budget.

The query text must be built from a session's item TITLES only, never from categories:
raw categories exist only for items in a GT bundle, so using them leaks the labels
(DESIGN.md §2). This module cannot check that; callers build the query from `Session.public()`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from bundlekd.errors import ConfigError, KnowledgeBaseError
from bundlekd.knowledge_base.index.base import VectorIndex
from bundlekd.knowledge_base.store.items import KINDS, KnowledgeItem
from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore
from bundlekd.knowledge_base.store.update import fill_deferred
from bundlekd.llm.embeddings import Embedder
from bundlekd.llm.tokens import approx_tokens

logger = logging.getLogger(__name__)

Scored = list[tuple[KnowledgeItem, float]]


def query_from_titles(titles: Iterable[str]) -> str:
    """The retrieval query for a session: its item titles, one per line (never categories)."""
    return "\n".join(t.strip() for t in titles if t.strip())


class Retriever:
    """Retrieves active items from a store through its vector index."""

    def __init__(
        self, store: KnowledgeStore, index: VectorIndex, embedder: Embedder, *, pool_factor: int = 4
    ) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        # MMR re-ranks a larger candidate pool than it returns.
        self.pool_factor = pool_factor

    def retrieve(
        self,
        query_text: str,
        k: int = 5,
        *,
        kinds: Sequence[str] | None = None,
        domain: str | None = None,
        quotas: Mapping[str, int] | None = None,
        mmr_lambda: float | None = None,
        token_budget: int | None = None,
    ) -> Scored:
        """Up to k (item, cosine score) pairs for one query, in selection order.

        Args:
            query_text: built from the session's titles only (see the module docstring).
            k: maximum number of items in total.
            kinds: restrict to these kinds (default: all).
            domain: restrict to one domain (default: every domain, i.e. pooled).
            quotas: at most quotas[kind] items of that kind; kinds not named are uncapped.
            mmr_lambda: if set, maximal-marginal-relevance re-ranking: 1.0 = pure relevance,
                lower values trade relevance for diversity among the picked items.
            token_budget: stop adding items once the next one would exceed this many tokens
                in total (`llm.tokens.approx_tokens`, the estimate the prompt builder uses).
                The first item is kept even when it alone exceeds a non-zero budget: the prompt
                builder cuts such a snippet (a long thought) rather than losing all knowledge.
        """
        return self.retrieve_for_sessions(
            [query_text],
            k,
            kinds=kinds,
            domain=domain,
            quotas=quotas,
            mmr_lambda=mmr_lambda,
            token_budget=token_budget,
        )[0]

    def retrieve_for_sessions(
        self,
        query_texts: Sequence[str],
        k: int = 5,
        *,
        kinds: Sequence[str] | None = None,
        domain: str | None = None,
        quotas: Mapping[str, int] | None = None,
        mmr_lambda: float | None = None,
        token_budget: int | None = None,
    ) -> list[Scored]:
        """`retrieve` for many queries: one embedding batch and one search per candidate pool."""
        allowed = _check_args(k, kinds, quotas, mmr_lambda, token_budget)
        quotas = {kind: n for kind, n in (quotas or {}).items() if kind in allowed}
        if not query_texts:
            return []
        active = {
            i.id: i for i in self.store.items(status="active", domain=domain) if i.kind in allowed
        }
        try:  # pick up vectors another process saved since we loaded the index
            self.index.refresh()
        except KnowledgeBaseError as exc:
            logger.warning("%s; searching the index as loaded", exc)
        # Items of deferred kinds are embedded on first search (in memory: a search writes
        # nothing), only those this search may return.
        fill_deferred(self.index, active.values(), self.embedder)
        queries = self.embedder.embed_batch(list(query_texts))
        factor = self.pool_factor if mmr_lambda is not None else 1
        pools: list[dict[str, float]] = [{} for _ in query_texts]
        searches = [(frozenset([kind]), n * factor) for kind, n in sorted(quotas.items()) if n > 0]
        uncapped = frozenset(allowed - quotas.keys())
        if uncapped:
            searches.append((uncapped, k * factor))
        for search_kinds, size in searches:
            ids = [i for i, item in active.items() if item.kind in search_kinds]
            if not ids or size <= 0:
                continue
            # No filter when it would admit everything: faster on every backend.
            whole = len(ids) == len(active) and domain is None and len(self.index) == len(ids)
            hits = self.index.search(queries, min(size, len(ids)), None if whole else ids)
            for pool, row in zip(pools, hits, strict=True):
                pool.update((i, s) for i, s in row if i in active)
        vectors = self._pool_vectors(pools) if mmr_lambda is not None else {}
        return [
            self._select(query, pool, active, vectors, k, quotas, mmr_lambda, token_budget)
            for query, pool in zip(queries, pools, strict=True)
        ]

    def _pool_vectors(self, pools: list[dict[str, float]]) -> dict[str, np.ndarray]:
        ids = sorted({i for pool in pools for i in pool})
        return dict(zip(ids, self.index.get_vectors(ids), strict=True)) if ids else {}

    @staticmethod
    def _select(
        query: np.ndarray,
        pool: dict[str, float],
        active: dict[str, KnowledgeItem],
        vectors: dict[str, np.ndarray],
        k: int,
        quotas: Mapping[str, int],
        mmr_lambda: float | None,
        token_budget: int | None,
    ) -> Scored:
        """Greedy pick: best (MMR) eligible candidate until k, the quotas or the budget stop it.

        MMR scores λ·relevance − (1−λ)·(max cosine to the items already picked), as
        langchain_core's `maximal_marginal_relevance` does. That function is not used: it
        ranks a fixed candidate list in one go, while each step here must first drop the
        candidates whose kind has used up its quota and may stop at the token budget; picks
        it made among candidates a quota later excludes would steer the redundancy term
        wrongly. It also recomputes cosines from raw vectors where we have the index scores.
        """
        candidates = sorted(pool.items(), key=lambda pair: (-pair[1], pair[0]))
        chosen: Scored = []
        chosen_vectors: list[np.ndarray] = []
        per_kind: Counter[str] = Counter()
        tokens = 0
        while candidates and len(chosen) < k:
            eligible = [
                (pos, pair)
                for pos, pair in enumerate(candidates)
                if per_kind[active[pair[0]].kind] < quotas.get(active[pair[0]].kind, k)
            ]
            if not eligible:
                break
            pos, (item_id, score) = eligible[0]
            if mmr_lambda is not None and chosen_vectors:
                taken = np.stack(chosen_vectors)
                values = [
                    mmr_lambda * s - (1 - mmr_lambda) * float(np.max(taken @ vectors[i]))
                    for _, (i, s) in eligible
                ]
                pos, (item_id, score) = eligible[int(np.argmax(values))]
            item = active[item_id]
            cost = approx_tokens(item.text)
            over = token_budget is not None and tokens + cost > token_budget
            if over and (chosen or token_budget == 0):
                break
            tokens += cost
            per_kind[item.kind] += 1
            chosen.append((item, score))
            if mmr_lambda is not None:
                chosen_vectors.append(vectors[item_id])
            del candidates[pos]
        return chosen


def _check_args(
    k: int,
    kinds: Sequence[str] | None,
    quotas: Mapping[str, int] | None,
    mmr_lambda: float | None,
    token_budget: int | None,
) -> set[str]:
    """Validate retrieval options; returns the allowed kinds."""
    allowed = set(kinds) if kinds else set(KINDS)
    unknown = (allowed | set(quotas or {})) - set(KINDS)
    if unknown:
        raise ConfigError(f"unknown knowledge kind(s) {sorted(unknown)}; expected {list(KINDS)}")
    if k < 0:
        raise ConfigError(f"k must be >= 0, got {k}")
    if any(n < 0 for n in (quotas or {}).values()):
        raise ConfigError(f"quotas must be >= 0, got {dict(quotas or {})}")
    if mmr_lambda is not None and not 0.0 <= mmr_lambda <= 1.0:
        raise ConfigError(f"mmr_lambda must be in [0, 1], got {mmr_lambda}")
    if token_budget is not None and token_budget < 0:
        raise ConfigError(f"token_budget must be >= 0, got {token_budget}")
    return allowed
