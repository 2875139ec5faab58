"""Non-LLM bundle detection from frequent category patterns, in the spirit of BundleRec's Apriori
baseline, without its label leak.

Fit: per domain, mine frequent patterns over the categories of the training sessions' GT bundles
(`knowledge_base.distill.patterns`) and index the training item titles for category inference.

Predict, per session (titles only, `Session.public()`):

1. Give every item the category that its `neighbours` nearest training items by title embedding
   vote for (`baselines.category_inference`); items below `min_similarity` get none.
2. A pattern *fires* when all its categories are among the session's inferred categories and
   its confidence is >= `min_confidence` (a same-category pattern "several X" fires when >= 2
   items are X).
3. Link all items whose categories belong to a fired pattern (scipy's connected_components), so
   every connected component is a union of fired patterns.
4. Each component of >= 2 items is one bundle, in session order, cut to the first
   `max_bundle_size` items; its intent is its items' category names joined by " + ".

A session where nothing fires gets no bundle (a valid, empty output, scored as a miss).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bundlekd.baselines.category_inference import CategoryGuess, CategoryInferencer
from bundlekd.data.leakage import check_sessions
from bundlekd.data.schema import Bundle, Prediction, Session
from bundlekd.errors import ConfigError, DataError
from bundlekd.knowledge_base.distill.patterns import (
    DEFAULT_MAX_LEN,
    FrequentPattern,
    check_level,
    mine_session_patterns,
)
from bundlekd.llm.embeddings import Embedder

logger = logging.getLogger(__name__)

METHOD = "apriori"


class AprioriConfig(BaseModel):
    """Settings of the Apriori baseline.

    The defaults were tuned on the 90 AICL validation sessions per domain (never on test), by
    strict precision and recall (2025) averaged over the three domains: ``depth-4`` labels (the
    leaf, or the 4th name of longer paths) beat raw leaves (too sparse) and ``depth-3`` (so
    coarse that whole sessions merge); a support of 0.002 (itemsets seen in ~2 training
    bundles) finds enough patterns to fire in most sessions; confidence 0.2 trims the weakest
    links; a 10-neighbour vote makes the inferred categories less noisy than 1-NN (+0.03-0.05
    precision). Same-category patterns matter most: without them precision drops by ~0.15.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: str = Field(default="depth-4", description="Category granularity: leaf or depth-K.")
    min_support: float = Field(default=0.002, gt=0, le=1)
    min_confidence: float = Field(
        default=0.2, ge=0, le=1, description="A pattern fires only from this confidence on."
    )
    max_len: int = Field(default=DEFAULT_MAX_LEN, ge=2, description="Longest itemset mined.")
    repeats: bool = Field(default=True, description="Also mine same-category patterns.")
    neighbours: int = Field(default=10, ge=1, description="Neighbours voting on a category.")
    min_similarity: float = Field(default=0.0, ge=-1, le=1)
    max_bundle_size: int = Field(default=10, ge=2)

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        try:
            return check_level(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc


class AprioriBaseline:
    """Fit on training sessions, then predict bundles for any sessions from their titles.

    Args:
        config: Mining and grouping settings.
        embedder: Title embedder for category inference (default: the real MiniLM).
    """

    def __init__(self, config: AprioriConfig | None = None, embedder: Embedder | None = None):
        self.config = config or AprioriConfig()
        self.inferencer = CategoryInferencer(
            embedder,
            level=self.config.level,
            k=self.config.neighbours,
            min_similarity=self.config.min_similarity,
        )
        self.patterns: dict[str, list[FrequentPattern]] = {}

    def fit(self, train_sessions: Sequence[Session]) -> AprioriBaseline:
        """Mine patterns and index titles, per domain.

        Raises:
            DataError: When there are no training sessions.
            LeakageError: a test session, or one without a split, was passed.
        """
        if not train_sessions:
            raise DataError("no training sessions to fit the Apriori baseline on")
        check_sessions(train_sessions, use="the Apriori baseline", can_force=False)
        cfg = self.config
        by_domain: dict[str, list[Session]] = {}
        for session in train_sessions:
            by_domain.setdefault(session.domain, []).append(session)
        self.patterns = {
            domain: mine_session_patterns(
                sessions,
                level=cfg.level,
                min_support=cfg.min_support,
                min_confidence=cfg.min_confidence,
                max_len=cfg.max_len,
                repeats=cfg.repeats,
            )
            for domain, sessions in sorted(by_domain.items())
        }
        self.inferencer.fit(train_sessions)
        return self

    def predict(self, sessions: Sequence[Session]) -> list[Prediction]:
        """One prediction per session, in order (reads titles only)."""
        public = [session.public() for session in sessions]
        start = time.perf_counter()
        guesses = self.inferencer.infer(public)
        per_session = (time.perf_counter() - start) / max(len(public), 1)
        return [
            self._predict_one(session, session_guesses, per_session)
            for session, session_guesses in zip(public, guesses, strict=True)
        ]

    def _predict_one(
        self, session: Session, guesses: list[CategoryGuess], latency_s: float
    ) -> Prediction:
        labels = [guess.label for guess in guesses]
        fired = fired_patterns(labels, self.patterns.get(session.domain, []))
        groups = group_items(labels, fired)
        bundles = []
        for positions in groups:
            positions = positions[: self.config.max_bundle_size]
            names = list(
                dict.fromkeys(label for p in positions if (label := labels[p]) is not None)
            )
            bundles.append(
                Bundle(
                    items=tuple(session.items[p].item_id for p in positions),
                    intent=" + ".join(names),
                )
            )
        return Prediction(
            session_id=session.session_id,
            domain=session.domain,
            bundles=tuple(bundles),
            parsed=True,
            raw="\n".join(p.text for p in fired),
            latency_s=latency_s,
            method=METHOD,
        )


def fired_patterns(
    labels: Sequence[str | None], patterns: Sequence[FrequentPattern]
) -> list[FrequentPattern]:
    """Patterns whose categories all occur among `labels` (a repeat pattern needs two items)."""
    counts: dict[str, int] = {}
    for label in labels:
        if label is not None:
            counts[label] = counts.get(label, 0) + 1
    fired = []
    for pattern in patterns:
        if pattern.is_repeat:
            if counts.get(pattern.categories[0], 0) >= 2:
                fired.append(pattern)
        elif all(name in counts for name in pattern.categories):
            fired.append(pattern)
    return fired


def group_items(labels: Sequence[str | None], fired: Sequence[FrequentPattern]) -> list[list[int]]:
    """Connected components (>= 2 items) of items linked by fired patterns.

    Returns:
        Lists of 0-based item positions in session order, ordered by their first item.
    """
    if not labels:
        return []
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    # A star per fired pattern (its first item to each other one) links all its items.
    first: list[int] = []
    other: list[int] = []
    for pattern in fired:
        members = [p for p, label in enumerate(labels) if label in pattern.categories]
        first += members[:1] * (len(members) - 1)
        other += members[1:]
    n = len(labels)
    graph = coo_matrix((np.ones(len(first)), (first, other)), shape=(n, n))
    _, component_of = connected_components(graph, directed=False)
    components: dict[int, list[int]] = {}
    for position, component in enumerate(component_of.tolist()):
        components.setdefault(component, []).append(position)
    groups = [members for members in components.values() if len(members) >= 2]
    return sorted(groups, key=lambda members: members[0])
