"""Nearest training sessions as worked examples: the first ICL baseline (no teacher needed).

Like AICL's `TopK_related_sessions`, a session's demonstrations are the training sessions whose
titles read most alike. Only titles are embedded (`Session.public()`), so nothing about the
ground truth of the query leaks into the choice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from bundlekd.data.schema import Session
from bundlekd.llm.embeddings import Embedder
from bundlekd.vectors import cosine_scores, top_k_indices

logger = logging.getLogger(__name__)


def session_text(session: Session) -> str:
    """What gets embedded for a session: its titles joined, in order."""
    return " | ".join(" ".join(item.title.split()) for item in session.public().items)


class ExampleIndex:
    """Cosine nearest-neighbour index over training sessions that have ground truth.

    Args:
        train_sessions: Candidate examples; sessions without GT bundles are skipped (they
            cannot show an answer).
        embedder: Any `Embedder` (unit-norm rows); `HashingEmbedder` for tests.
    """

    def __init__(self, train_sessions: Sequence[Session], embedder: Embedder) -> None:
        self.embedder = embedder
        self.sessions: list[Session] = [s for s in train_sessions if s.bundles is not None]
        skipped = len(train_sessions) - len(self.sessions)
        if skipped:
            logger.info("example index: skipped %d sessions without ground truth", skipped)
        if self.sessions:
            self._vectors = embedder.embed_batch([session_text(s) for s in self.sessions])
        else:
            self._vectors = np.zeros((0, 1), dtype=np.float32)
        self._domains = np.array([s.domain for s in self.sessions], dtype=object)
        self._rows_by_key: dict[tuple[str, str], list[int]] = {}
        for row, s in enumerate(self.sessions):
            self._rows_by_key.setdefault(s.key, []).append(row)

    def __len__(self) -> int:
        return len(self.sessions)

    def nearest(self, session: Session, k: int) -> list[Session]:
        """The k most similar training sessions, most similar first; never `session` itself."""
        return self.nearest_batch([session], k)[0]

    def nearest_batch(self, sessions: Sequence[Session], k: int) -> list[list[Session]]:
        """`nearest` for many sessions with one embedding call.

        Candidates from the query's own domain are preferred; other domains are used only when
        the query's domain has no candidates (e.g. typed-in items in `bundlekd chat`).
        """
        if k <= 0 or not self.sessions or not sessions:
            return [[] for _ in sessions]
        queries = self.embedder.embed_batch([session_text(s) for s in sessions])
        scores = cosine_scores(queries, self._vectors).astype(np.float64)
        results: list[list[Session]] = []
        for row, session in enumerate(sessions):
            row_scores = scores[row].copy()
            same_domain = self._domains == session.domain
            if same_domain.any():
                row_scores[~same_domain] = -np.inf
            row_scores[self._rows_by_key.get(session.key, [])] = -np.inf  # never its own example
            results.append([self.sessions[i] for i in top_k_indices(row_scores, k)])
        return results
