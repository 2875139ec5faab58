"""The learned pair scorer: logistic regression on title-only pair features (per domain).

Fitted on every item pair of the training sessions (label: bundled together in some GT
bundle), each session featurised with itself left out of the memory. The model is saved as
plain JSON (scaler mean/scale, coefficients, intercept per domain) and scored with numpy, so
loading a KB never unpickles anything; sklearn is needed only to fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bundlekd.data.schema import Session
from bundlekd.errors import KnowledgeBaseError
from bundlekd.knowledge_base.grouping.features import (
    FEATURE_GROUPS,
    FEATURE_NAMES,
    pair_features,
    pair_features_batch,
)
from bundlekd.knowledge_base.grouping.memory import DomainMemory

Progress = Callable[[int, int], None]


class LinearModel:
    """sigmoid(((x - mean) / scale) · coef + intercept): a fitted StandardScaler + LR."""

    def __init__(self, mean: list[float], scale: list[float], coef: list[float], b: float):
        self.mean = np.array(mean, dtype=np.float64)
        self.scale = np.array(scale, dtype=np.float64)
        self.coef = np.array(coef, dtype=np.float64)
        self.intercept = float(b)

    def probability(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        labels: np.ndarray,
        c: float = 1.0,
        keep: np.ndarray | None = None,
    ) -> LinearModel:
        """Fit on the columns `keep` selects (default all); the others get weight 0, so the
        model keeps the full feature width (and the saved format) whatever it was fitted on."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        width = features.shape[1]
        keep = np.ones(width, dtype=bool) if keep is None else keep
        chosen = features[:, keep]
        scaler = StandardScaler().fit(chosen)
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        model = LogisticRegression(C=c, max_iter=5000).fit((chosen - scaler.mean_) / scale, labels)
        mean, full_scale, coef = np.zeros(width), np.ones(width), np.zeros(width)
        mean[keep], full_scale[keep], coef[keep] = scaler.mean_, scale, model.coef_[0]
        return cls(mean.tolist(), full_scale.tolist(), coef.tolist(), model.intercept_[0])


POOLED = "*"
BATCH_SESSIONS = 64  # sessions of a domain whose features are computed together


def _titles(session: Session) -> list[str]:
    return [" ".join(i.title.split()) for i in session.public().items]


class LearnedScorer:
    """Pair probabilities from logistic regression: one model pooled over domains (with a
    domain one-hot; the default, as measured on val) or one model per domain."""

    kind: ClassVar[str] = "learned"

    def __init__(
        self,
        memories: dict[str, DomainMemory],
        models: dict[str, LinearModel],
        domains: list[str] | None = None,
    ) -> None:
        self.memories = memories
        self.models = models
        self.domains = domains  # the one-hot columns of a pooled model

    def score(
        self,
        sessions: Sequence[Session],
        vectors: Sequence[np.ndarray],
        to_memory: Sequence[np.ndarray | None] | None = None,
    ) -> list[np.ndarray]:
        """One (n, n) pair-probability matrix per session (1 on the diagonal).

        `to_memory`: per session, its titles' products with its domain memory's vectors when
        the caller computed them (`products.MemoryProducts`); None: computed here.
        """
        products = list(to_memory) if to_memory is not None else [None] * len(sessions)
        matrices: list[np.ndarray | None] = [None] * len(sessions)
        by_domain: dict[str, list[int]] = {}
        for k, session in enumerate(sessions):
            by_domain.setdefault(session.domain, []).append(k)
        for domain, members in by_domain.items():
            memory, model = self._model(domain)
            # Sessions of a domain go through the memory's arrays together (same features).
            for start in range(0, len(members), BATCH_SESSIONS):
                chunk = members[start : start + BATCH_SESSIONS]
                found = pair_features_batch(
                    [vectors[k] for k in chunk],
                    [_titles(sessions[k]) for k in chunk],
                    memory,
                    [products[k] for k in chunk],
                )
                for k, (features, pairs) in zip(chunk, found, strict=True):
                    matrices[k] = self._matrix(domain, model, len(vectors[k]), features, pairs)
        return [m for m in matrices if m is not None]

    def _model(self, domain: str) -> tuple[DomainMemory, LinearModel]:
        memory = self.memories.get(domain)
        model = self.models.get(domain) or self.models.get(POOLED)
        if memory is None or model is None:
            raise KnowledgeBaseError(
                f"the learned scorer has no memory of domain {domain!r}; "
                f"it knows {sorted(self.memories)}"
            )
        return memory, model

    def _matrix(
        self,
        domain: str,
        model: LinearModel,
        n: int,
        features: np.ndarray,
        pairs: list[tuple[int, int]],
    ) -> np.ndarray:
        """The (n, n) probability matrix of one session's pair features (1 on the diagonal)."""
        matrix = np.eye(n, dtype=np.float64)
        if pairs:
            if self.domains is not None and domain not in self.models:
                features = with_domain(features, domain, self.domains)
            probability = model.probability(features)  # per session: the same product shapes
            first, second = np.array(pairs).T
            matrix[first, second] = probability
            matrix[second, first] = probability
        return matrix

    def session_matrix(
        self,
        session: Session,
        block: np.ndarray,
        exclude: int | None = None,
        to_memory: np.ndarray | None = None,
    ) -> np.ndarray:
        memory, model = self._model(session.domain)
        features, pairs = pair_features(
            block, _titles(session), memory, exclude, to_memory=to_memory
        )
        return self._matrix(session.domain, model, block.shape[0], features, pairs)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "features": list(FEATURE_NAMES),
            "domains": self.domains,
            "models": {d: m.to_json() for d, m in sorted(self.models.items())},
        }


def with_domain(features: np.ndarray, domain: str, domains: list[str]) -> np.ndarray:
    """Append the domain one-hot columns of a pooled model."""
    onehot = np.array([float(domain == d) for d in domains], dtype=features.dtype)
    return np.hstack([features, np.tile(onehot, (len(features), 1))])


def fit_learned_scorer(
    train: Sequence[Session],
    memories: dict[str, DomainMemory],
    vectors: Sequence[np.ndarray],
    *,
    c: float = 1.0,
    pooled: bool = True,
    groups: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> LearnedScorer:
    """Fit on the training sessions' pairs, each session left out of the memory it is
    featurised with: one model over all domains (`pooled`, with a domain one-hot) or one per
    domain. `groups` (names of `FEATURE_GROUPS`; default all) limits the features the model
    may use: the ablations of the study's knowledge-format question."""
    return fit_learned_scorer_parts(
        [TrainingPart(train, memories, vectors)],
        memories,
        c=c,
        pooled=pooled,
        groups=groups,
        progress=progress,
    )


@dataclass(frozen=True)
class TrainingPart:
    """Training sessions with the memory and title vectors their rows are featurised with
    (cross-fitting: one part per fold, each from an embedder that never saw its sessions)."""

    sessions: Sequence[Session]
    memories: dict[str, DomainMemory]
    vectors: Sequence[np.ndarray]


def fit_learned_scorer_parts(
    parts: Sequence[TrainingPart],
    memories: dict[str, DomainMemory],
    *,
    c: float = 1.0,
    pooled: bool = True,
    groups: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> LearnedScorer:
    """`fit_learned_scorer` on the rows of every part; the scorer keeps `memories` (those of
    the embedder used at inference)."""
    keep = feature_mask(groups)
    rows: dict[str, list[np.ndarray]] = {}
    labels: dict[str, list[np.ndarray]] = {}
    total = sum(len(part.sessions) for part in parts)
    done = 0
    for part in parts:
        for session, block in zip(part.sessions, part.vectors, strict=True):
            done += 1
            memory = part.memories.get(session.domain)
            if memory is None or not session.bundles:
                continue
            features, targets = _session_rows(session, block, memory)
            rows.setdefault(session.domain, []).append(features)
            labels.setdefault(session.domain, []).append(targets)
            if progress is not None:
                progress(done, total)
    if not rows:
        raise KnowledgeBaseError("no labelled training sessions to fit the pair scorer on")
    if pooled:
        domains = sorted(rows)
        features = np.concatenate(
            [with_domain(np.concatenate(rows[d]), d, domains) for d in domains]
        )
        targets = np.concatenate([np.concatenate(labels[d]) for d in domains])
        onehot = np.ones(len(domains), dtype=bool)
        model = LinearModel.fit(features, targets, c, np.concatenate([keep, onehot]))
        return LearnedScorer(memories, {POOLED: model}, domains)
    models = {
        domain: LinearModel.fit(
            np.concatenate(rows[domain]), np.concatenate(labels[domain]), c, keep
        )
        for domain in sorted(rows)
    }
    return LearnedScorer(memories, models)


def _session_rows(
    session: Session, block: np.ndarray, memory: DomainMemory
) -> tuple[np.ndarray, np.ndarray]:
    """A training session's pair features (itself left out of the memory) and labels."""
    titles = [" ".join(i.title.split()) for i in session.public().items]
    features, pairs = pair_features(block, titles, memory, memory.index.get(session.session_id))
    together = {
        (a, b)
        for bundle in session.bundles or ()
        for a in (session.position(x) - 1 for x in bundle.items)
        for b in (session.position(x) - 1 for x in bundle.items)
    }
    return features, np.array([float((i, j) in together) for i, j in pairs], dtype=np.float64)


def feature_mask(groups: Sequence[str] | None) -> np.ndarray:
    """Which FEATURE_NAMES columns the groups select (None: all of them).

    Raises:
        KnowledgeBaseError: an unknown group, or none.
    """
    if groups is None:
        return np.ones(len(FEATURE_NAMES), dtype=bool)
    unknown = [g for g in groups if g not in FEATURE_GROUPS]
    if unknown or not groups:
        raise KnowledgeBaseError(
            f"feature groups {list(groups)}: choose one or more of {', '.join(FEATURE_GROUPS)}"
        )
    chosen = {name for g in groups for name in FEATURE_GROUPS[g]}
    return np.array([name in chosen for name in FEATURE_NAMES], dtype=bool)
