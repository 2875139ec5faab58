"""Which training sessions to distil from: the sampling-quantity axis of DESIGN.md §1.

`sample_sessions(sessions, ratio, strategy, seed)` keeps `round(ratio * n)` sessions (at least one)
chosen by one of four strategies:

- ``random``: a seeded uniform sample.
- ``length``: the longest sessions first (most items); ties are broken by a seeded shuffle. Long
  sessions carry more items and usually more bundles, i.e. more to learn per teacher call.
- ``diversity``: greedy farthest-point selection. Distance is the cosine distance between the
  given per-session ``vectors`` (e.g. embedded titles, computed by the caller: the data layer never
  imports an embedder), or, without vectors, the Jaccard distance between the sessions' feature
  sets: their items' category paths when the session has any (training data only), else the
  words of their titles.
- ``difficulty``: the hardest sessions first: highest given per-session ``difficulty`` score (e.g.
  a student's error rate), or, without scores, the most ground-truth bundles, then the most items.

Multi-domain pooling: when the sessions span several domains, each domain is sampled on its own
with the same ratio, strategy and seed, and the results are concatenated in domain order. So a
pool keeps every domain's share, and adding a domain never changes another domain's sample.

Everything is deterministic for a given seed and input order.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Literal, get_args

import numpy as np

from bundlekd.data.schema import Session
from bundlekd.errors import ConfigError, DataError

Strategy = Literal["random", "length", "diversity", "difficulty"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

DifficultyScores = Sequence[float] | Mapping[str, float]


def sample_size(n: int, ratio: float) -> int:
    """How many of `n` sessions a ratio keeps: round(ratio * n), at least 1 (0 when n == 0)."""
    if not 0 < ratio <= 1:
        raise ConfigError(f"sampling ratio must be in (0, 1], got {ratio}")
    return 0 if n == 0 else max(1, round(ratio * n))


def sample_sessions(
    sessions: Sequence[Session],
    ratio: float,
    strategy: str = "random",
    seed: int = 0,
    *,
    vectors: np.ndarray | None = None,
    difficulty: DifficultyScores | None = None,
) -> list[Session]:
    """Pick a fraction of `sessions` by `strategy` (see the module docstring).

    Args:
        sessions: candidate sessions (usually the train split of one or more domains).
        ratio: fraction to keep, in (0, 1].
        strategy: one of ``random``, ``length``, ``diversity``, ``difficulty``.
        seed: makes the choice (and every tie-break) reproducible.
        vectors: optional ``(len(sessions), d)`` array for ``diversity``, row i for session i.
        difficulty: optional per-session scores for ``difficulty`` (higher = harder), either a
            sequence aligned with `sessions` or a mapping from session_id to score.

    Returns:
        The chosen sessions, in selection order (per domain, domains in sorted order).

    Raises:
        ConfigError: unknown strategy or a ratio outside (0, 1].
        DataError: `vectors` or `difficulty` do not line up with `sessions`.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown sampling strategy {strategy!r}; choose one of {STRATEGIES}")
    sample_size(len(sessions), ratio)  # validates the ratio even for an empty input
    if vectors is not None:
        vectors = np.asarray(vectors, dtype=np.float64)
        if vectors.ndim != 2 or vectors.shape[0] != len(sessions):
            raise DataError(
                f"vectors must have shape ({len(sessions)}, d) to match the sessions, "
                f"got {vectors.shape}"
            )
    scores = _difficulty_scores(sessions, difficulty) if difficulty is not None else None

    by_domain: dict[str, list[int]] = {}
    for index, session in enumerate(sessions):
        by_domain.setdefault(session.domain, []).append(index)
    chosen: list[Session] = []
    for domain in sorted(by_domain):
        indices = by_domain[domain]
        k = sample_size(len(indices), ratio)
        picked = _pick(sessions, indices, k, strategy, seed, vectors, scores)
        chosen.extend(sessions[i] for i in picked)
    return chosen


def _pick(
    sessions: Sequence[Session],
    indices: list[int],
    k: int,
    strategy: str,
    seed: int,
    vectors: np.ndarray | None,
    scores: list[float] | None,
) -> list[int]:
    rng = random.Random(seed)
    order = list(indices)
    rng.shuffle(order)  # the seeded tie-break every strategy shares
    if strategy == "random":
        return order[:k]
    if strategy == "length":
        return sorted(order, key=lambda i: -len(sessions[i].items))[:k]
    if strategy == "difficulty":
        if scores is not None:
            return sorted(order, key=lambda i: -scores[i])[:k]
        return sorted(
            order, key=lambda i: (-len(sessions[i].bundles or ()), -len(sessions[i].items))
        )[:k]
    if vectors is not None:
        return _farthest_point_vectors(order, vectors, k)
    return _farthest_point_sets(order, [session_features(sessions[i]) for i in order], k)


def _difficulty_scores(sessions: Sequence[Session], difficulty: DifficultyScores) -> list[float]:
    if isinstance(difficulty, Mapping):
        missing = [s.session_id for s in sessions if s.session_id not in difficulty]
        if missing:
            raise DataError(f"difficulty scores missing for sessions {missing[:5]}")
        return [float(difficulty[s.session_id]) for s in sessions]
    scores = [float(x) for x in difficulty]
    if len(scores) != len(sessions):
        raise DataError(f"{len(scores)} difficulty scores for {len(sessions)} sessions")
    return scores


def session_features(session: Session) -> frozenset[str]:
    """What `diversity` compares without vectors: category paths, else title words."""
    paths = {" > ".join(path) for item in session.items for path in (item.categories or ()) if path}
    if paths:
        return frozenset(paths)
    return frozenset(
        w for item in session.items for w in re.findall(r"[a-z0-9]+", item.title.lower())
    )


def _jaccard_distance(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return 0.0 if union == 0 else 1.0 - len(a & b) / union


def _farthest_point_sets(order: list[int], features: list[frozenset[str]], k: int) -> list[int]:
    """Greedy k-center on Jaccard distance; starts at the first index of the seeded order."""
    if not order:
        return []
    chosen_pos = [0]
    taken = {0}
    nearest = [_jaccard_distance(features[0], f) for f in features]
    while len(chosen_pos) < min(k, len(order)):
        # max() returns the first maximum: ties go to the seeded order.
        pos = max((p for p in range(len(order)) if p not in taken), key=lambda p: nearest[p])
        chosen_pos.append(pos)
        taken.add(pos)
        nearest = [
            min(d, _jaccard_distance(features[pos], f))
            for d, f in zip(nearest, features, strict=True)
        ]
    return [order[p] for p in chosen_pos]


def _farthest_point_vectors(order: list[int], vectors: np.ndarray, k: int) -> list[int]:
    """Greedy k-center on cosine distance between the sessions' vectors."""
    if not order:
        return []
    rows = vectors[order]
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    rows = rows / np.where(norms == 0, 1.0, norms)
    chosen_pos = [0]
    nearest = 1.0 - rows @ rows[0]
    nearest[0] = -np.inf
    while len(chosen_pos) < min(k, len(order)):
        pos = int(np.argmax(nearest))  # argmax returns the first maximum: seeded tie-break
        chosen_pos.append(pos)
        nearest = np.minimum(nearest, 1.0 - rows @ rows[pos])
        nearest[chosen_pos] = -np.inf
    return [order[p] for p in chosen_pos]
