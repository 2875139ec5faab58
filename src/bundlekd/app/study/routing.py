"""RouteDK-style routing: each session goes to the adapter of one knowledge kind.

A `sft_routed` cell has one adapter per knowledge kind of its formats. A session is routed by
its retrieved mix: the KB is searched with the session's titles (its public view, no labels)
over every kind of the cell, without per-kind quotas, and the kind whose items among the top
k hold the largest summed retrieval score wins (ties: the earlier kind in the cell's formats;
nothing retrieved: the first kind). Every decision is logged with its mix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.kb import KnowledgeBase

ROUTING_FILE = "routing.jsonl"

#: (kind, retrieval score) of a session's top-k retrieved items
Hits = Sequence[tuple[str, float]]


@dataclass(frozen=True)
class Route:
    """Where one session went and why."""

    session_key: tuple[str, str]
    kind: str
    mix: dict[str, float]  # summed retrieval score per kind
    counts: dict[str, int]  # retrieved items per kind

    def to_json(self) -> dict[str, Any]:
        return {
            "session_key": list(self.session_key),
            "adapter": self.kind,
            "mix": {k: round(v, 4) for k, v in self.mix.items()},
            "counts": self.counts,
        }


def choose(hits: Hits, kinds: Sequence[str]) -> tuple[str, dict[str, float], dict[str, int]]:
    """The kind with the largest summed score among `hits`, with the mix and counts."""
    mix = {kind: 0.0 for kind in kinds}
    counts = {kind: 0 for kind in kinds}
    for kind, score in hits:
        if kind in mix:
            mix[kind] += float(score)
            counts[kind] += 1
    present = [k for k in kinds if counts[k]]
    if not present:
        return kinds[0], mix, counts
    return max(present, key=lambda k: (mix[k], -kinds.index(k))), mix, counts


def route_sessions(
    sessions: Sequence[Session],
    kinds: Sequence[str],
    retrieve: Callable[[Session], Hits],
) -> list[Route]:
    """One route per session, from `retrieve` (the session's top-k (kind, score) hits)."""
    routes = []
    for session in sessions:
        kind, mix, counts = choose(retrieve(session), kinds)
        routes.append(Route(session.key, kind, mix, counts))
    return routes


def kb_retriever(
    kb: KnowledgeBase, kinds: Sequence[str], k: int, *, same_domain: bool = True
) -> Callable[[Session], Hits]:
    """A session's top-k items of `kinds` by plain relevance (no quotas, MMR or budget)."""
    from bundlekd.knowledge_base.retrieval.retriever import query_from_titles

    def retrieve(session: Session) -> Hits:
        public = session.public()
        found = kb.search(
            query_from_titles(public.titles),
            k,
            kinds=list(kinds),
            domain=public.domain if same_domain else None,
            quotas=None,
            mmr_lambda=None,
            token_budget=None,
        )
        return [(item.kind, float(score)) for item, score in found]

    return retrieve


def write_routes(path: Path, routes: Sequence[Route]) -> dict[str, int]:
    """Log every decision (JSONL); returns how many sessions went to each adapter."""
    from bundlekd.files import write_jsonl

    write_jsonl(path, [r.to_json() for r in routes])
    counts: dict[str, int] = {}
    for route in routes:
        counts[route.kind] = counts.get(route.kind, 0) + 1
    return counts
