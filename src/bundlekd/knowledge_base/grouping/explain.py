"""Explanations from the grouping tool's own evidence (pure, deterministic, no LLM).

Why are these products a bundle, and why is that one left out? The tool's answer is its
evidence, not a story: the pair scores it decoded (probabilities of the learned scorer, or
cosines), the val-chosen decoding settings (policy, threshold, floors) and the training
bundles of the item memory whose titles match the bundle's items. `gather_evidence` computes
that evidence once per session through the tool's public API (`score`, `group`,
`memory.nearest_vectors`); `explain` turns it into an `Explanation` of any bundles (the tool's
own, or the ones a user edited in chat); `explain_pair` answers for one pair of products.
Rendering as text is `explain_text`.

Positions in an explanation are 1-based (product 1..N, as the chat and the API show them).

Example:
    evidence = gather_evidence(kb.grouping_tool(), [session])[0]
    print(render_explanation(explain(evidence, evidence.tool_groups)))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bundlekd.data.schema import Session
from bundlekd.knowledge_base.grouping.cluster import group_items
from bundlekd.knowledge_base.grouping.partition import log_odds_weights
from bundlekd.knowledge_base.grouping.tool import NEIGHBOURS, GroupSettings
from bundlekd.knowledge_base.retrieval.item_memory import Neighbour

if TYPE_CHECKING:
    from bundlekd.knowledge_base.grouping.tool import GroupingTool

SUPPORT_SHOWN = 3  # training bundles listed per bundle or pair
#: The val metrics an explanation carries (tool.json `val_scores`, when the tool has them).
VAL_METRICS = ("gjs", "precision", "recall", "exact_precision", "exact_recall", "coverage")


@dataclass(frozen=True, slots=True)
class Link:
    """The tool's score of one pair of products (positions 1-based, a < b)."""

    a: int
    b: int
    score: float


@dataclass(frozen=True, slots=True)
class Member:
    """One product of a bundle and its evidence to the other members."""

    position: int
    title: str
    mean_to_others: float
    links: tuple[Link, ...]  # to each other member, in position order
    gain: float | None  # partition: summed log-odds past the threshold of keeping it (> 0 pays)


@dataclass(frozen=True, slots=True)
class TitleMatch:
    """A session product and the training item of an exemplar nearest to it."""

    position: int
    training_title: str
    similarity: float


@dataclass(frozen=True, slots=True)
class Support:
    """A training bundle (exemplar knowledge item) that matches products of a bundle."""

    exemplar_id: str
    intent: str
    vote: float  # summed best title similarity over the matched products (the naming vote)
    matches: tuple[TitleMatch, ...]


@dataclass(frozen=True, slots=True)
class BundleWhy:
    """The evidence for one bundle."""

    number: int
    positions: tuple[int, ...]
    intent: str
    mean_score: float
    weakest: Link | None
    decoded: bool  # the tool's decoding of this session gives exactly this bundle
    members: tuple[Member, ...]
    support: tuple[Support, ...]
    intent_from: str  # the exemplar whose intent the tool's naming picks for these products


@dataclass(frozen=True, slots=True)
class Pull:
    """How strongly a product outside a bundle is drawn to it."""

    bundle: int
    best: Link
    weakest: Link
    mean: float
    gain: float | None  # partition: summed log-odds past the threshold of joining (> 0 pays)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A product in no bundle, with its pull to each bundle (strongest first)."""

    position: int
    title: str
    pulls: tuple[Pull, ...]


@dataclass(frozen=True, slots=True)
class Decoding:
    """How the tool turned scores into groups for this session's domain."""

    domain: str
    scorer: str
    scale: str  # "probability" (learned scorer) or "cosine"
    tuned: bool  # the domain's own val-chosen settings (else the tool's defaults)
    settings: dict[str, Any]
    objective: str
    guard: dict[str, Any]
    val_scores: dict[str, float]
    val_bar: dict[str, float]  # the clustering bar's val scores there (the guard rails' base)
    fallback: bool  # nothing cleared the threshold: the tool's bundle is its surest pair
    #: a person labelled this session (author, source, at): the answer is their label
    labelled: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a session's bundles are what they are, from the tool's evidence."""

    session_id: str
    domain: str
    decoding: Decoding
    bundles: tuple[BundleWhy, ...]
    left_out: tuple[LeftOut, ...]
    tool_groups: tuple[tuple[int, ...], ...]  # what the tool itself decodes (1-based)
    knowledge_ids: tuple[str, ...]
    scores: tuple[tuple[float, ...], ...]  # every pair's score (row/column k: product k + 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the HTTP `explanation` field)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class PairWhy:
    """The evidence for one pair of products."""

    link: Link
    titles: tuple[str, str]
    together_in: int | None  # the bundle holding both, if any
    support: tuple[Support, ...]  # training bundles matching both products


@dataclass(frozen=True)
class Evidence:
    """What the tool computed for one session: the pair-score matrix, each item's nearest
    training items and the tool's own groups (0-based), with the decoding it used."""

    session: Session
    matrix: np.ndarray
    neighbours: list[list[Neighbour]]
    tool_groups: list[list[int]]
    decoding: Decoding


def gather_evidence(tool: GroupingTool, sessions: Sequence[Session]) -> list[Evidence]:
    """The tool's evidence per session (one scoring call for all of them; deterministic)."""
    public = [s.public() for s in sessions]
    vectors, matrices = tool.score(public)
    out = []
    for session, block, matrix in zip(public, vectors, matrices, strict=True):
        symmetric = (np.asarray(matrix, dtype=np.float64) + np.asarray(matrix).T) / 2
        groups = tool.group(session, matrix)
        neighbours = tool.memory.nearest_vectors(block, NEIGHBOURS, domain=session.domain)
        decoding = _decoding(tool, session, matrix, groups)
        recalled = tool.labelled.lookup(session)
        if recalled:
            _, label = recalled[0]
            who = {"author": label.author, "source": label.source, "at": label.at}
            decoding = dataclasses.replace(decoding, labelled=who)
        out.append(Evidence(session, symmetric, neighbours, groups, decoding))
    return out


def _decoding(
    tool: GroupingTool, session: Session, matrix: np.ndarray, groups: list[list[int]]
) -> Decoding:
    settings = tool.settings.get(session.domain)
    tuned = settings is not None
    chosen: GroupSettings = settings if settings is not None else tool.default
    fallback = False
    if groups and chosen.fallback_pair:  # would the decoding alone have found nothing?
        fallback = not group_items(
            matrix,
            chosen.policy,
            chosen.threshold,
            fallback_pair=False,
            member_floor=chosen.member_floor,
            bundle_floor=chosen.bundle_floor,
        )
    # tool.json metadata is data from disk (older tools lack some keys): read it defensively
    metadata = tool.metadata
    chosen_by = _mapping(metadata.get("chosen_by"))
    scores = _mapping(_mapping(metadata.get("val_scores")).get(session.domain))
    bar = _mapping(_mapping(metadata.get("val_clustering_bar")).get(session.domain))
    kind = str(getattr(tool.scorer, "kind", ""))
    return Decoding(
        domain=session.domain,
        scorer=kind,
        scale="cosine" if kind == "cosine" else "probability",
        tuned=tuned,
        settings=chosen.model_dump(),
        objective=str(chosen_by.get("objective", "")),
        guard=_mapping(chosen_by.get("guard")),
        val_scores=_numbers(scores),
        val_bar=_numbers(bar),
        fallback=fallback,
    )


def explain(
    evidence: Evidence,
    bundles: Sequence[Sequence[int]],
    intents: Sequence[str] = (),
    *,
    knowledge_ids: Sequence[str] = (),
) -> Explanation:
    """The explanation of `bundles` (0-based positions; the tool's own or edited ones)."""
    session, matrix = evidence.session, evidence.matrix
    weights = _weights(evidence)
    decoded = {tuple(sorted(g)) for g in evidence.tool_groups}
    whys = []
    for number, group in enumerate(bundles, start=1):
        members = sorted(set(group))
        links = [_link(matrix, a, b) for k, a in enumerate(members) for b in members[k + 1 :]]
        support, named = _support(evidence.neighbours, members)
        whys.append(
            BundleWhy(
                number=number,
                positions=tuple(p + 1 for p in members),
                intent=intents[number - 1] if number - 1 < len(intents) else "",
                mean_score=float(np.mean([x.score for x in links])) if links else 0.0,
                weakest=min(links, key=lambda x: (x.score, x.a, x.b)) if links else None,
                decoded=tuple(members) in decoded,
                members=tuple(_member(session, matrix, weights, p, members) for p in members),
                support=support,
                intent_from=named,
            )
        )
    grouped = {p for g in bundles for p in g}
    left_out = tuple(
        LeftOut(
            position=p + 1,
            title=session.items[p].title,
            pulls=tuple(
                sorted(
                    (
                        pull(evidence, p, g, number)
                        for number, g in enumerate(bundles, start=1)
                        if set(g) - {p}
                    ),
                    key=lambda x: (-x.best.score, x.bundle),
                )
            ),
        )
        for p in range(len(session.items))
        if p not in grouped
    )
    return Explanation(
        session_id=session.session_id,
        domain=session.domain,
        decoding=evidence.decoding,
        bundles=tuple(whys),
        left_out=left_out,
        tool_groups=tuple(tuple(p + 1 for p in g) for g in evidence.tool_groups),
        knowledge_ids=tuple(knowledge_ids),
        scores=tuple(tuple(float(x) for x in row) for row in matrix),
    )


def pull(evidence: Evidence, position: int, bundle: Sequence[int], number: int) -> Pull:
    """How product `position` (0-based) is drawn to `bundle` (0-based positions, its
    `number` 1-based), leaving itself out of the bundle if it is a member.

    Raises:
        ValueError: the bundle holds no product but `position`.
    """
    others = [b for b in sorted(set(bundle)) if b != position]
    if not others:
        raise ValueError(f"bundle {number} holds no product but {position + 1}")
    links = [_link(evidence.matrix, position, b) for b in others]
    weights = _weights(evidence)
    return Pull(
        bundle=number,
        best=max(links, key=lambda x: (x.score, -x.a, -x.b)),
        weakest=min(links, key=lambda x: (x.score, x.a, x.b)),
        mean=float(np.mean([x.score for x in links])),
        gain=None if weights is None else float(sum(weights[position, b] for b in others)),
    )


def explain_pair(
    evidence: Evidence, a: int, b: int, bundles: Sequence[Sequence[int]] = ()
) -> PairWhy:
    """The evidence for products `a` and `b` (0-based, distinct)."""
    together = next((n for n, g in enumerate(bundles, start=1) if a in g and b in g), None)
    support, _ = _support(evidence.neighbours, sorted({a, b}), need=2)
    items = evidence.session.items
    return PairWhy(
        link=_link(evidence.matrix, a, b),
        titles=(items[min(a, b)].title, items[max(a, b)].title),
        together_in=together,
        support=support,
    )


def _mapping(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _numbers(scores: dict[str, Any]) -> dict[str, float]:
    return {m: float(scores[m]) for m in VAL_METRICS if _is_number(scores.get(m))}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _weights(evidence: Evidence) -> np.ndarray | None:
    settings = evidence.decoding.settings
    if settings.get("policy") != "partition":
        return None
    return log_odds_weights(evidence.matrix, float(settings["threshold"]))


def _link(matrix: np.ndarray, a: int, b: int) -> Link:
    low, high = min(a, b), max(a, b)
    return Link(a=low + 1, b=high + 1, score=float(matrix[low, high]))


def _member(
    session: Session,
    matrix: np.ndarray,
    weights: np.ndarray | None,
    position: int,
    members: list[int],
) -> Member:
    others = [m for m in members if m != position]
    links = tuple(_link(matrix, position, m) for m in others)
    return Member(
        position=position + 1,
        title=session.items[position].title,
        mean_to_others=float(np.mean([x.score for x in links])) if links else 0.0,
        links=links,
        gain=None if weights is None else float(sum(weights[position, m] for m in others)),
    )


def _support(
    neighbours: list[list[Neighbour]], members: Sequence[int], need: int = 2
) -> tuple[tuple[Support, ...], str]:
    """Training bundles matching at least `need` of `members` with distinct training items
    (else the best of any), ranked by the tool's naming vote (summed best title similarity),
    and the exemplar the tool's naming takes its intent from."""
    best: dict[str, dict[int, Neighbour]] = {}
    for position in members:
        for neighbour in neighbours[position] if position < len(neighbours) else []:
            mine = best.setdefault(neighbour.exemplar_id, {})
            if position not in mine or neighbour.score > mine[position].score:
                mine[position] = neighbour
    votes = {e: sum(n.score for n in found.values()) for e, found in best.items()}
    ranked = sorted(votes, key=lambda e: (-votes[e], e))
    # the tool's naming: the top-voted exemplar that has an intent (GroupingTool._proposal)
    named = next((e for e in ranked if next(iter(best[e].values())).intent), "")
    shared = [e for e in ranked if len({n.title for n in best[e].values()}) >= need] or ranked
    support = []
    for exemplar_id in shared[:SUPPORT_SHOWN]:
        found = best[exemplar_id]
        support.append(
            Support(
                exemplar_id=exemplar_id,
                intent=next(iter(found.values())).intent,
                vote=float(votes[exemplar_id]),
                matches=tuple(
                    TitleMatch(p + 1, found[p].title, float(found[p].score)) for p in sorted(found)
                ),
            )
        )
    return tuple(support), named
