"""GroupingTool: sessions in, candidate bundles (proposals) with intents out. No LLM.

1. Embed the session's titles with the tool's embedder (tuned or untuned MiniLM).
2. Score every item pair (`scorers`), cluster the scores into disjoint groups (`cluster`) with
   the domain's linkage and threshold; the best pair is the fallback when nothing groups.
3. Name each group after the nearest training bundle: every exemplar gets the summed similarity
   of its best-matching title to each item of the group (item memory); the top exemplar's
   intent is the proposal's intent, the next distinct ones are its alternatives.

The tool is fitted on training sessions and its settings chosen on validation sessions
(`bundlekd.app.tool_fitting`); it is saved under the KB folder (`tool/tool.json`) and the same
input always gives the same proposals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bundlekd.data.schema import Session
from bundlekd.files import write_json
from bundlekd.knowledge_base.grouping.cluster import Policy, group_items
from bundlekd.knowledge_base.grouping.products import MemoryProducts, SessionProducts
from bundlekd.knowledge_base.grouping.recall import LabelledBundle, LabelledSessions
from bundlekd.knowledge_base.grouping.scorers import CosineScorer, PairScorer
from bundlekd.knowledge_base.retrieval.item_memory import ItemMemory
from bundlekd.llm.embeddings import Embedder

TOOL_DIR = "tool"
TOOL_FILE = "tool.json"
TOOL_VERSION = 1
#: The knowledge kinds the tool is fitted from (its knowledge hash covers these).
TOOL_KINDS: tuple[str, ...] = ("exemplar",)
NEIGHBOURS = 10  # training items looked up per session item when naming a group


class GroupSettings(BaseModel):
    """How one domain's pair scores become groups (chosen on validation sessions)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: Policy = "complete"
    threshold: float = Field(default=0.5, ge=-1.0, le=1.0)
    fallback_pair: bool = True
    # partition only: a member of a 3+ bundle stays while its mean probability to the others
    # reaches member_floor; a bundle stays while its mean pair probability reaches bundle_floor
    member_floor: float = Field(default=0.0, ge=0.0, le=1.0)
    bundle_floor: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _legacy_linkage(cls, data: Any) -> Any:
        # tool.json files written before the "pairs" policy called the field "linkage".
        if isinstance(data, dict) and "linkage" in data and "policy" not in data:
            data = {**data, "policy": data["linkage"]}
            del data["linkage"]
        return data


@dataclass(frozen=True, slots=True)
class Proposal:
    """A candidate bundle: 0-based item positions, its intent and where the intent came from."""

    positions: tuple[int, ...]
    intent: str
    alternatives: tuple[str, ...]  # next-best intents of other near training bundles
    exemplar_ids: tuple[str, ...]  # the training bundles the intents came from
    score: float  # mean pair score inside the group

    def item_ids(self, session: Session) -> tuple[str, ...]:
        return tuple(session.items[p].item_id for p in self.positions)


class GroupingTool:
    """Proposes bundles for sessions from pair scores and the item memory."""

    def __init__(
        self,
        embedder: Embedder,
        memory: ItemMemory,
        *,
        scorer: PairScorer | None = None,
        settings: dict[str, GroupSettings] | None = None,
        default: GroupSettings | None = None,
        metadata: dict[str, Any] | None = None,
        labelled: LabelledSessions | None = None,
    ) -> None:
        self.embedder = embedder
        #: sessions a person labelled (feedback): answered with their label (`recall`)
        self.labelled = labelled or LabelledSessions({})
        self.memory = memory
        self.scorer: PairScorer = scorer or CosineScorer()
        self.settings = dict(settings or {})
        self.default = default or GroupSettings()
        self.metadata = dict(metadata or {})

    def describe(self) -> dict[str, Any]:
        return {
            "scorer": self.scorer.kind,
            "embedder": self.embedder.model_id,
            "settings": {d: s.model_dump() for d, s in sorted(self.settings.items())},
            **self.metadata,
        }

    # --- proposing ------------------------------------------------------------------------
    def embed(self, sessions: Sequence[Session]) -> list[np.ndarray]:
        """Unit-norm title vectors per session (one embedding call for all of them)."""
        return embed_sessions(self.embedder, sessions)

    def score(self, sessions: Sequence[Session]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(title vectors, pair-score matrices) per session."""
        vectors, matrices, _ = self._score(sessions)
        return vectors, matrices

    def _score(
        self, sessions: Sequence[Session]
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[SessionProducts | None]]:
        """`score`, with each session's shared memory products (None: not shared)."""
        public = [s.public() for s in sessions]
        vectors = self.embed(public)
        shared = self._shared_products()
        if shared is None:
            return vectors, self.scorer.score(public, vectors), [None] * len(public)
        products = shared.session_products([s.domain for s in public], vectors)
        to_memory = [p.to_memory if p is not None else None for p in products]
        # shared products exist only for the learned scorer, whose score takes them
        scorer: Any = self.scorer
        return vectors, scorer.score(public, vectors, to_memory=to_memory), products

    def _shared_products(self) -> MemoryProducts | None:
        """One product per domain for the learned scorer's memory and the item memory (built
        on first use, again if either was replaced); None for other scorers or memories."""
        from bundlekd.knowledge_base.grouping.learned import LearnedScorer

        # only the real learned scorer: a stand-in with the same `kind` may not take products
        if not isinstance(self.scorer, LearnedScorer):
            return None
        memories = self.scorer.memories
        if not isinstance(self.memory, ItemMemory):
            return None
        # Built for exactly these objects (held, so no other object can take their ids).
        built_for = (self.scorer, self.memory, *memories.items())
        cached = getattr(self, "_products", None)
        if cached is None or not _same_objects(cached[0], built_for):
            cached = (built_for, MemoryProducts(memories, self.memory))
            self._products = cached
        return cached[1]

    def group(self, session: Session, matrix: np.ndarray) -> list[list[int]]:
        chosen = self.settings.get(session.domain, self.default)
        return group_items(
            matrix,
            chosen.policy,
            chosen.threshold,
            fallback_pair=chosen.fallback_pair,
            member_floor=chosen.member_floor,
            bundle_floor=chosen.bundle_floor,
        )

    def propose(self, sessions: Sequence[Session]) -> list[list[Proposal]]:
        """Proposals per session, in order (titles only; deterministic)."""
        vectors, matrices, products = self._score(sessions)
        proposals: list[list[Proposal]] = []
        for session, block, matrix, product in zip(
            sessions, vectors, matrices, products, strict=True
        ):
            recalled = self.labelled.lookup(session)
            if recalled is not None:
                proposals.append([_labelled_proposal(p, b, matrix) for p, b in recalled])
                continue
            groups = self.group(session, matrix)
            if not groups:
                proposals.append([])
                continue
            to_items = product.to_items if product is not None else None
            neighbours = self._neighbours(block, session.domain, to_items)
            proposals.append([self._proposal(group, matrix, neighbours) for group in groups])
        return proposals

    def _neighbours(
        self, block: np.ndarray, domain: str, to_items: np.ndarray | None = None
    ) -> list[list[tuple[str, float, str]]]:
        """Per session item, its nearest training items as (exemplar id, score, intent)
        (`to_items`: the session's shared product with the item memory, if any)."""
        nearest_rows = getattr(self.memory, "nearest_rows", None)
        if nearest_rows is None:  # a duck-typed memory (e.g. SFT's leave-one-out view)
            found = self.memory.nearest_vectors(block, NEIGHBOURS, domain=domain)
            return [[(n.exemplar_id, n.score, n.intent) for n in row] for row in found]
        rows, scores = nearest_rows(block, NEIGHBOURS, domain=domain, scores=to_items)
        ids, intents = self.memory.row_exemplar_ids, self.memory.row_intents
        # Plain lists: naming reads a few dozen neighbours, cheaper than numpy scalars.
        return [
            [(ids[r], s, intents[r]) for r, s in zip(row, values, strict=True)]
            for row, values in zip(rows.tolist(), scores.tolist(), strict=True)
        ]

    def _proposal(
        self, group: list[int], matrix: np.ndarray, neighbours: list[list[tuple[str, float, str]]]
    ) -> Proposal:
        """Name a group: each exemplar gets, per group item, its best neighbour score there;
        the exemplars with the highest sums give the intent and alternatives (ties by id)."""
        votes: dict[str, float] = {}
        intents: dict[str, str] = {}
        for position in group:
            best: dict[str, float] = {}
            for exemplar_id, score, intent in neighbours[position]:
                best[exemplar_id] = max(best.get(exemplar_id, -1.0), score)
                intents[exemplar_id] = intent
            for exemplar_id, score in best.items():
                votes[exemplar_id] = votes.get(exemplar_id, 0.0) + score
        ranked = sorted(votes, key=lambda e: (-votes[e], e))
        names: list[str] = []
        used: list[str] = []
        for exemplar_id in ranked:
            intent = intents[exemplar_id]
            if intent and intent.lower() not in (n.lower() for n in names):
                names.append(intent)
                used.append(exemplar_id)
            if len(names) == 4:
                break
        pairs = [matrix[i, j] for k, i in enumerate(group) for j in group[k + 1 :]]
        return Proposal(
            positions=tuple(group),
            intent=names[0] if names else "",
            alternatives=tuple(names[1:]),
            exemplar_ids=tuple(used),
            score=float(np.mean(pairs)) if pairs else 0.0,
        )

    # --- persistence ----------------------------------------------------------------------
    def save(self, kb_dir: str | Path) -> Path:
        """Write `tool/tool.json` under the KB folder (scorer parameters, settings, provenance)."""
        path = Path(kb_dir) / TOOL_DIR / TOOL_FILE
        write_json(
            path,
            {
                "version": TOOL_VERSION,
                "embedder_id": self.embedder.model_id,
                "scorer": self.scorer.to_json(),
                "settings": {d: s.model_dump() for d, s in sorted(self.settings.items())},
                "default": self.default.model_dump(),
                "metadata": self.metadata,
            },
        )
        return path


def _labelled_proposal(
    positions: tuple[int, ...], bundle: LabelledBundle, matrix: np.ndarray
) -> Proposal:
    """A bundle a person gave this session, as a proposal (its intent is theirs)."""
    pairs = [matrix[i, j] for k, i in enumerate(positions) for j in positions[k + 1 :]]
    return Proposal(
        positions=positions,
        intent=bundle.intent,
        alternatives=(),
        exemplar_ids=(bundle.exemplar_id,),
        score=float(np.mean(pairs)) if pairs else 0.0,
    )


def _same_objects(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    """The same objects (by identity; (name, object) pairs by name and identity)."""
    if len(old) != len(new):
        return False
    for a, b in zip(old, new, strict=True):
        if isinstance(a, tuple) and isinstance(b, tuple):
            if a[0] != b[0] or a[1] is not b[1]:
                return False
        elif a is not b:
            return False
    return True


def embed_sessions(embedder: Embedder, sessions: Sequence[Session]) -> list[np.ndarray]:
    """Unit-norm title vectors per session (one embedding call for all of them)."""
    titles = [" ".join(i.title.split()) for s in sessions for i in s.public().items]
    vectors = embedder.embed_batch(titles) if titles else np.zeros((0, 1))
    blocks, start = [], 0
    for session in sessions:
        blocks.append(vectors[start : start + len(session.items)])
        start += len(session.items)
    return blocks


def tool_path(kb_dir: str | Path) -> Path:
    return Path(kb_dir) / TOOL_DIR / TOOL_FILE
