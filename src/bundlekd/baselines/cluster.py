"""The non-LLM bar: title-embedding clustering, tuned on the validation split.

Per session, embed the titles (untuned MiniLM by default), cluster with hierarchical
agglomerative clustering on cosine distance, and output every cluster of >= 2 items as a bundle.
With `fallback_pair`, a session where nothing clusters gets its most similar pair instead
(DESIGN.md §7: 0.75 / 0.79 / 0.82 strict precision on the test splits).

`tune` picks the linkage and the cosine threshold per domain on **validation** sessions by the
mean of strict precision and strict unique recall; test sessions are refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from bundlekd.data.leakage import check_sessions
from bundlekd.data.schema import Bundle, Prediction, Session
from bundlekd.errors import DataError
from bundlekd.knowledge_base.grouping.cluster import LINKAGES, Linkage, cluster_groups
from bundlekd.llm.embeddings import Embedder

logger = logging.getLogger(__name__)

METHOD = "cluster"
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.10, 0.92, 0.02))


class ClusterSettings(BaseModel):
    """One domain's clustering settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    linkage: Linkage = Field(default="complete", description="Agglomerative linkage.")
    threshold: float = Field(default=0.5, ge=-1.0, le=1.0, description="Cosine cut.")


@dataclass(frozen=True)
class TuneResult:
    """The settings chosen for one domain and their validation score."""

    domain: str
    settings: ClusterSettings
    precision: float
    recall: float
    n_sessions: int
    coverage: float = 0.0  # strict 2025 coverage (mean |p|/|g| over hit pairs)


class ClusterBaseline:
    """Cluster each session's titles by embedding cosine.

    Args:
        embedder: The title embedder (default MiniLM, untuned).
        fallback_pair: Output the most similar pair when nothing clusters.
        settings: Per-domain settings (from `tune`); `default` is used for other domains.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        fallback_pair: bool = True,
        settings: dict[str, ClusterSettings] | None = None,
        default: ClusterSettings | None = None,
    ) -> None:
        self.embedder = embedder
        self.fallback_pair = fallback_pair
        self.settings = dict(settings or {})
        self.default = default or ClusterSettings()

    @property
    def method(self) -> str:
        return f"{METHOD}+pair" if self.fallback_pair else METHOD

    def similarities(self, sessions: Sequence[Session]) -> list[np.ndarray]:
        """Cosine matrix of each session's titles (one embedding call for all of them)."""
        titles = [item.title for s in sessions for item in s.public().items]
        vectors = self.embedder.embed_batch(titles)
        matrices, start = [], 0
        for session in sessions:
            block = vectors[start : start + len(session.items)]
            matrices.append(block @ block.T)
            start += len(session.items)
        return matrices

    def predict(
        self, sessions: Sequence[Session], matrices: Sequence[np.ndarray] | None = None
    ) -> list[Prediction]:
        """One prediction per session, in order (titles only)."""
        started = time.perf_counter()
        matrices = list(matrices) if matrices is not None else self.similarities(sessions)
        per_session = (time.perf_counter() - started) / max(len(sessions), 1)
        predictions = []
        for session, matrix in zip(sessions, matrices, strict=True):
            chosen = self.settings.get(session.domain, self.default)
            groups = cluster_groups(
                matrix,
                chosen.threshold,
                linkage=chosen.linkage,
                fallback_pair=self.fallback_pair,
            )
            bundles = tuple(
                Bundle(items=tuple(session.items[i].item_id for i in group)) for group in groups
            )
            predictions.append(
                Prediction(
                    session_id=session.session_id,
                    domain=session.domain,
                    bundles=bundles,
                    method=self.method,
                    latency_s=round(per_session, 6),
                )
            )
        return predictions

    def tune(self, val_sessions: Sequence[Session]) -> list[TuneResult]:
        """Choose linkage and threshold per domain on validation sessions (never test).

        Raises:
            LeakageError: a test session, or one without a split, was passed.
            DataError: no labelled sessions.
        """
        labelled = labelled_val(val_sessions)
        results = tune_grouping(labelled, self.similarities(labelled), self.fallback_pair)
        for result in results:
            self.settings[result.domain] = result.settings
        return results


def labelled_val(val_sessions: Sequence[Session]) -> list[Session]:
    """The labelled sessions to tune on; test sessions are refused."""
    check_sessions(val_sessions, use="tuning the grouping", can_force=False)
    labelled = [s for s in val_sessions if s.bundles]
    if not labelled:
        raise DataError("no labelled validation sessions to tune the grouping on")
    return labelled


def tune_grouping(
    sessions: Sequence[Session],
    matrices: Sequence[np.ndarray],
    fallback_pair: bool,
    thresholds: Sequence[float] = THRESHOLDS,
) -> list[TuneResult]:
    """Per domain, the (linkage, threshold) with the best mean of strict precision and strict
    unique recall (2025) on these labelled sessions; ties keep the earlier grid point."""
    from bundlekd.eval.metrics import HEADLINE, aggregate_all, score_session

    results = []
    for domain in sorted({s.domain for s in sessions}):
        rows = [i for i, s in enumerate(sessions) if s.domain == domain]
        best: tuple[float, TuneResult] | None = None
        for linkage in LINKAGES:
            for threshold in thresholds:
                scores = []
                for i in rows:
                    session = sessions[i]
                    groups = cluster_groups(
                        matrices[i], threshold, linkage=linkage, fallback_pair=fallback_pair
                    )
                    predicted = [tuple(session.items[k].item_id for k in g) for g in groups]
                    gold = [b.items for b in session.bundles or ()]
                    scores.append(score_session(predicted, gold, parsed=True))
                headline = aggregate_all(scores)[HEADLINE]
                score = (headline.precision + headline.recall) / 2
                if best is None or score > best[0] + 1e-12:
                    settings = ClusterSettings(linkage=linkage, threshold=float(threshold))
                    result = TuneResult(
                        domain,
                        settings,
                        headline.precision,
                        headline.recall,
                        len(rows),
                        headline.coverage,
                    )
                    best = (score, result)
        assert best is not None
        logger.info("grouping %s: %s", domain, best[1])
        results.append(best[1])
    return results
