"""Infer item categories from titles alone: the nearest training item by title embedding.

Frequent patterns speak about categories, but a test item's raw categories are a label leak (only
bundled items have them, DESIGN.md §2). So at test time an item gets the category of the most
similar *training* item title. `CategoryInferencer.fit` indexes training items that carry
categories; `infer` reads nothing but `Session.public()` (titles), so a test session's categories,
if present at all, are never looked at.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bundlekd.data.leakage import check_sessions
from bundlekd.data.schema import Session
from bundlekd.errors import ConfigError, KnowledgeBaseError
from bundlekd.knowledge_base.distill.patterns import DEFAULT_LEVEL, category_label, check_level
from bundlekd.llm.embeddings import Embedder, get_embedder
from bundlekd.vectors import cosine_scores, top_k_indices

logger = logging.getLogger(__name__)

CategoryPaths = tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class CategoryGuess:
    """The inferred category of one item.

    Attributes:
        item_id: The item whose category was inferred.
        label: The category label at the inferencer's level (None: no neighbour good enough).
        similarity: Cosine similarity to the nearest training item with that label.
        neighbour_id: That training item's id ("" when there is none).
        neighbour_title: Its title.
    """

    item_id: str
    label: str | None
    similarity: float
    neighbour_id: str = ""
    neighbour_title: str = ""


@dataclass(frozen=True, slots=True)
class _Reference:
    item_id: str
    title: str
    label: str


class CategoryInferencer:
    """Nearest-neighbour category inference over training item titles.

    Args:
        embedder: Title embedder; default the real all-MiniLM-L6-v2 (`get_embedder("minilm")`).
        level: Label granularity (`knowledge_base.distill.patterns.category_label`): ``leaf``
            or ``depth-K``.
        k: Neighbours that vote (weighted by similarity); 1 = plain nearest neighbour.
        min_similarity: Below this similarity an item gets no label.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        level: str = DEFAULT_LEVEL,
        k: int = 1,
        min_similarity: float = 0.0,
    ) -> None:
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        self.embedder = embedder if embedder is not None else get_embedder("minilm")
        self.level = check_level(level)
        self.k = k
        self.min_similarity = min_similarity
        self._refs: dict[str, list[_Reference]] = {}
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def domains(self) -> list[str]:
        return sorted(self._refs)

    def fit(self, sessions: Iterable[Session]) -> CategoryInferencer:
        """Index the titled, categorised items of training sessions, per domain.

        Raises:
            LeakageError: a test session, or one without a split, was passed.
        """
        refs: dict[str, dict[str, _Reference]] = defaultdict(dict)
        sessions = list(sessions)
        check_sessions(sessions, use="category inference", can_force=False)
        for session in sessions:
            for item in session.items:
                label = category_label(item.categories, self.level)
                if label is not None and item.item_id not in refs[session.domain]:
                    refs[session.domain][item.item_id] = _Reference(item.item_id, item.title, label)
        self._refs = {d: sorted(r.values(), key=lambda x: x.item_id) for d, r in refs.items() if r}
        self._vectors = {
            d: self.embedder.embed_batch([r.title for r in rs]) for d, rs in self._refs.items()
        }
        logger.info(
            "category index: %s",
            ", ".join(f"{d}={len(rs)} items" for d, rs in sorted(self._refs.items())),
        )
        return self

    def infer(self, sessions: Sequence[Session]) -> list[list[CategoryGuess]]:
        """Guess a category for every item of every session, from titles only.

        Returns:
            One list of guesses per session, in item order.

        Raises:
            KnowledgeBaseError: When a session's domain was not fitted.
        """
        views = [session.public() for session in sessions]  # titles only: no leak possible
        for view in views:
            if view.domain not in self._refs:
                raise KnowledgeBaseError(
                    f"session {view.key}: no training items with categories for domain "
                    f"{view.domain!r} (fitted: {self.domains or 'none'})"
                )
        titles = [item.title for view in views for item in view.items]
        if not titles:
            return [[] for _ in views]
        vectors = self.embedder.embed_batch(titles)
        rows_by_domain: dict[str, list[int]] = defaultdict(list)
        owners: list[str] = []
        for view in views:
            for item in view.items:
                rows_by_domain[view.domain].append(len(owners))
                owners.append(item.item_id)
        flat: dict[int, CategoryGuess] = {}
        for domain, rows in rows_by_domain.items():
            # One matrix product per domain: (queries x references) cosine similarities.
            sims = cosine_scores(vectors[rows], self._vectors[domain])
            for row, row_sims in zip(rows, sims, strict=True):
                flat[row] = self._guess(owners[row], domain, row_sims)
        out: list[list[CategoryGuess]] = []
        start = 0
        for view in views:
            out.append([flat[row] for row in range(start, start + len(view.items))])
            start += len(view.items)
        return out

    def infer_session(self, session: Session) -> list[CategoryGuess]:
        """`infer` for one session."""
        return self.infer([session])[0]

    def _guess(self, item_id: str, domain: str, sims: np.ndarray) -> CategoryGuess:
        refs = self._refs[domain]
        top = top_k_indices(sims, self.k)  # highest first, ties by reference order
        votes: dict[str, float] = defaultdict(float)
        for index in top:
            votes[refs[index].label] += max(float(sims[index]), 0.0)
        label = max(votes, key=lambda name: (votes[name], -_first_rank(top, refs, name)))
        best = next(i for i in top if refs[i].label == label)
        similarity = float(sims[best])
        if similarity < self.min_similarity:
            return CategoryGuess(item_id=item_id, label=None, similarity=similarity)
        return CategoryGuess(
            item_id=item_id,
            label=label,
            similarity=similarity,
            neighbour_id=refs[best].item_id,
            neighbour_title=refs[best].title,
        )


def _first_rank(top: np.ndarray, refs: list[_Reference], label: str) -> int:
    # Rank of the first neighbour with this label (ties in the vote go to the nearer label).
    return next(rank for rank, index in enumerate(top) if refs[index].label == label)
