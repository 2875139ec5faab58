"""Pair scorers: how likely two items of a session are bundled together (title-only inputs).

`CosineScorer` is the embedding cosine (untuned or tuned MiniLM). Learned scorers add features
from the training memory; every scorer maps a session's embedded titles to an (n, n) matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import numpy as np

from bundlekd.data.schema import Session


class PairScorer(Protocol):
    """Scores every item pair of each session; higher = more likely bundled together."""

    kind: ClassVar[str]

    def score(self, sessions: Sequence[Session], vectors: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One symmetric (n, n) matrix per session, given its unit-norm title vectors."""
        ...

    def to_json(self) -> dict[str, Any]:
        """Parameters to save with the tool (plain JSON, no pickle)."""
        ...


class CosineScorer:
    """The cosine of title embeddings."""

    kind: ClassVar[str] = "cosine"

    def score(self, sessions: Sequence[Session], vectors: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [block @ block.T for block in vectors]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind}


def scorer_from_json(data: dict[str, Any], memories: dict[str, Any] | None = None) -> PairScorer:
    """Rebuild a saved scorer (`memories`: the learned scorer's per-domain training memory)."""
    from bundlekd.errors import KnowledgeBaseError
    from bundlekd.knowledge_base.grouping.features import FEATURE_NAMES
    from bundlekd.knowledge_base.grouping.learned import LearnedScorer, LinearModel

    kind = data.get("kind")
    if kind == CosineScorer.kind:
        return CosineScorer()
    if kind == LearnedScorer.kind:
        if tuple(data.get("features", ())) != FEATURE_NAMES:
            raise KnowledgeBaseError("the saved scorer was fitted on other features: refit it")
        models = {
            domain: LinearModel(m["mean"], m["scale"], m["coef"], m["intercept"])
            for domain, m in data["models"].items()
        }
        return LearnedScorer(memories or {}, models, data.get("domains"))
    raise KnowledgeBaseError(f"unknown pair scorer {kind!r} in the saved tool")
