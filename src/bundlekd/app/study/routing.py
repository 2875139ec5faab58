"""RouteDK-style routing: each session goes to the adapter of one knowledge kind.

A `sft_routed` cell has one adapter per knowledge kind of its formats. A session is routed by
its retrieved mix: the KB is searched with the session's titles (its public view, no labels)
for the top k items of each kind, and the kind whose items are the most relevant *for that
kind* wins. Raw cosine scores are not comparable across kinds: a pattern is a list of titles
and always scores higher than a rule's sentence (on the rq3 KB, summing the raw scores of a
session's top 9 items sent 30 of 30 sessions to the pattern adapter). So each kind's mean top-k
score is standardised by that kind's mean and spread over val sessions of the same domain
(titles only), and the largest z-score wins (ties: the earlier kind in the cell's formats; a
kind with no item for the session, or none for any val session of its domain, cannot win;
nothing retrieved: the first kind). Every
decision is logged with its raw relevance and z-scores.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.kb import KnowledgeBase

ROUTING_FILE = "routing.jsonl"
MIN_SPREAD = 0.01  # of a kind's val relevance: a kind with one val score is not infinitely sure

#: (session, kind) -> retrieval scores of the session's top-k items of that kind
Retrieve = Callable[["Session", str], Sequence[float]]
#: domain -> kind -> (mean, spread) of the kind's mean top-k score over val sessions
Calibration = dict[str, dict[str, tuple[float, float]]]


@dataclass(frozen=True)
class Route:
    """Where one session went and why."""

    session_key: tuple[str, str]
    kind: str
    relevance: dict[str, float | None]  # mean top-k score per kind (None: nothing retrieved)
    z: dict[str, float | None]  # the same, standardised per kind (val)

    def to_json(self) -> dict[str, Any]:
        return {
            "session_key": list(self.session_key),
            "adapter": self.kind,
            "relevance": {k: _round(v) for k, v in self.relevance.items()},
            "z": {k: _round(v) for k, v in self.z.items()},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def relevance(session: Session, kinds: Sequence[str], retrieve: Retrieve) -> dict[str, Any]:
    """The mean score of the session's top-k items per kind (None where it has none)."""
    found = {kind: list(retrieve(session, kind)) for kind in kinds}
    return {k: (sum(v) / len(v) if v else None) for k, v in found.items()}


def calibrate(sessions: Sequence[Session], kinds: Sequence[str], retrieve: Retrieve) -> Calibration:
    """Per domain and kind, the mean and spread of `relevance` over `sessions` (val)."""
    values: dict[str, dict[str, list[float]]] = {}
    for session in sessions:
        for kind, value in relevance(session, kinds, retrieve).items():
            if value is not None:
                values.setdefault(session.domain, {}).setdefault(kind, []).append(value)
    return {
        domain: {
            kind: (statistics.fmean(v), statistics.pstdev(v) if len(v) > 1 else 0.0)
            for kind, v in per_kind.items()
        }
        for domain, per_kind in values.items()
    }


def choose(
    scores: Mapping[str, float | None],
    calibration: Mapping[str, tuple[float, float]],
    kinds: Sequence[str],
) -> tuple[str, dict[str, float | None]]:
    """The kind with the largest standardised relevance, and every kind's z-score."""
    z: dict[str, float | None] = {}
    for kind in kinds:
        value, calibrated = scores.get(kind), calibration.get(kind)
        if value is None or calibrated is None:
            z[kind] = None  # nothing retrieved, or nothing to compare it with
            continue
        mean, spread = calibrated
        z[kind] = (value - mean) / max(spread, MIN_SPREAD)
    present = [k for k in kinds if z[k] is not None]
    if not present:
        return kinds[0], z
    return max(present, key=lambda k: (z[k], -kinds.index(k))), z


def route_sessions(
    sessions: Sequence[Session], kinds: Sequence[str], retrieve: Retrieve, calibration: Calibration
) -> list[Route]:
    """One route per session."""
    routes = []
    for session in sessions:
        scores = relevance(session, kinds, retrieve)
        kind, z = choose(scores, calibration.get(session.domain, {}), kinds)
        routes.append(Route(session.key, kind, scores, z))
    return routes


def kb_retriever(kb: KnowledgeBase, k: int, *, same_domain: bool = True) -> Retrieve:
    """A session's top-k scores of one kind by plain relevance (no MMR or budget)."""
    from bundlekd.knowledge_base.retrieval.retriever import query_from_titles

    def retrieve(session: Session, kind: str) -> list[float]:
        public = session.public()
        found = kb.search(
            query_from_titles(public.titles),
            k,
            kinds=[kind],
            domain=public.domain if same_domain else None,
            quotas=None,
            mmr_lambda=None,
            token_budget=None,
        )
        return [float(score) for _, score in found]

    return retrieve


def write_routes(path: Path, routes: Sequence[Route]) -> dict[str, int]:
    """Log every decision (JSONL); returns how many sessions went to each adapter."""
    from bundlekd.files import write_jsonl

    write_jsonl(path, [r.to_json() for r in routes])
    counts: dict[str, int] = {}
    for route in routes:
        counts[route.kind] = counts.get(route.kind, 0) + 1
    return counts
