"""Title-only features of every item pair of a session, for the learned pair scorer.

E = unit-norm title vectors of the session (public view), S = E Eᵀ. Memory features come from
the domain's training sessions (`DomainMemory`); a training session used as a query leaves
itself out of the memory, or its own labels would leak into its features.

Groups (their value was measured on the validation split; the memory features carry most of it):
- cosine and its context: raw, z-scored within the session, the gap to each item's nearest
  other item, ranks, mutual nearest neighbours, session size and mean;
- positions (the item order is part of the input);
- title tokens: overlap, Jaccard, same first token (brand);
- memory: how often the nearest training items sat in a bundle; the nearest-item similarity;
  kernel evidence: over training item pairs (a, b) of one session, ranked by
  max(sim(i,a) + sim(j,b), sim(j,a) + sim(i,b)), the share of the top ones bundled together;
- categories: each item takes the category path of its most similar categorised training
  item; agreement at depths 2/3/4/leaf, and the smoothed co-bundle rate of the category pair.
"""

from __future__ import annotations

import re

import numpy as np

from bundlekd.knowledge_base.grouping.memory import Category, DomainMemory

FEATURE_NAMES: tuple[str, ...] = (
    "cos", "cos_z", "cos_gap_min", "cos_gap_max", "rank_min", "rank_max", "mutual_nn",
    "n", "dpos", "adjacent", "pos_i", "pos_j", "sess_mean_cos",
    "tok_jacc", "tok_inter", "brand",
    "bund_min", "bund_max", "nn1_min", "nn1_max",
    "kern5", "kern5_sim", "kern20", "kern20_sim", "kernw50",
    "cat_eq2", "cat_eq3", "cat_eq4", "cat_leaf_eq", "cat_sim_min", "catpair_rate", "catpair_n",
)  # fmt: skip
#: Feature groups, for ablations (`kb.tool_features`): the scorer sees only the chosen groups.
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "cosine": FEATURE_NAMES[0:7] + FEATURE_NAMES[7:8] + FEATURE_NAMES[12:13],
    "position": FEATURE_NAMES[8:12],
    "tokens": FEATURE_NAMES[13:16],
    "memory": FEATURE_NAMES[16:20],
    "kernel": FEATURE_NAMES[20:25],
    "category": FEATURE_NAMES[25:32],
}
_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = {"for", "and", "with", "the", "of", "in", "a", "to", "by", "on", "pack", "inch", "x", "s"}
NEIGHBOURS = 10
KERNEL_SIZES = (5, 20)
KERNEL_WINDOW = 50
KERNEL_TEMPERATURE = 0.1  # the weighted vote's softness over the window's scores
SMOOTHING = 5.0  # pseudo-counts of the prior in the category-pair rate


def _tokens(title: str) -> list[str]:
    return _TOKEN.findall(title.lower())


def pair_features(
    vectors: np.ndarray,
    titles: list[str],
    memory: DomainMemory,
    exclude: int | None = None,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(features, pairs): one row per item pair (i < j), columns as FEATURE_NAMES.

    Args:
        vectors: (n, d) unit-norm title vectors of the session.
        titles: the n public titles.
        memory: the domain's training memory.
        exclude: index of the memory session to leave out (the query itself, when training).
    """
    n = vectors.shape[0]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if not pairs:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32), pairs
    sims = vectors @ vectors.T
    off = sims.copy()
    np.fill_diagonal(off, -np.inf)
    rank = np.empty((n, n), dtype=np.int64)
    for i in range(n):
        rank[i, np.argsort(-off[i], kind="stable")] = np.arange(n)
    values = sims[~np.eye(n, dtype=bool)]
    mean, std = float(values.mean()), float(values.std()) + 1e-6
    row_max = off.max(axis=1)

    to_memory = vectors @ memory.vectors.T  # (n, slots)
    if exclude is not None:
        to_memory[:, memory.slot_session == exclude] = -np.inf
    k = min(NEIGHBOURS, to_memory.shape[1])
    top = np.argsort(-to_memory, axis=1, kind="stable")[:, :k]
    top_sims = np.take_along_axis(to_memory, top, axis=1)
    weights = np.exp((top_sims - top_sims[:, :1]) / 0.05)
    bundled = (weights * memory.in_bundle[top]).sum(1) / weights.sum(1)
    nearest = top_sims[:, 0]
    categorised = np.where(memory.has_category[None, :], to_memory, -np.inf)
    donors = np.argmax(categorised, axis=1)
    donor_sims = categorised[np.arange(n), donors]
    inferred: list[Category | None] = [
        memory.categories[d] if np.isfinite(donor_sims[i]) else None for i, d in enumerate(donors)
    ]

    keep = np.ones(len(memory.pair_a), dtype=bool)
    if exclude is not None:
        keep = memory.pair_session != exclude
    pair_y = memory.pair_y[keep]
    sim_a, sim_b = to_memory[:, memory.pair_a[keep]], to_memory[:, memory.pair_b[keep]]
    own: dict[tuple[Category, Category], list[float]] = {}
    if exclude is not None:
        for key, y in memory.own_category_pairs.get(exclude, []):
            counts = own.setdefault(key, [0.0, 0.0])
            counts[0] += y
            counts[1] += 1

    tokens = [set(_tokens(t)) - _STOP for t in titles]
    firsts = [_tokens(t)[:1] for t in titles]
    rows = []
    for i, j in pairs:
        overlap = len(tokens[i] & tokens[j])
        union = len(tokens[i] | tokens[j]) or 1
        row = [
            sims[i, j],
            (sims[i, j] - mean) / std,
            min(row_max[i] - sims[i, j], row_max[j] - sims[i, j]),
            max(row_max[i] - sims[i, j], row_max[j] - sims[i, j]),
            min(rank[i, j], rank[j, i]),
            max(rank[i, j], rank[j, i]),
            float(rank[i, j] == 0 and rank[j, i] == 0),
            n,
            j - i,
            float(j - i == 1),
            i / (n - 1),
            j / (n - 1),
            mean,
            overlap / union,
            overlap,
            float(bool(firsts[i]) and firsts[i] == firsts[j]),
            min(bundled[i], bundled[j]),
            max(bundled[i], bundled[j]),
            min(nearest[i], nearest[j]),
            max(nearest[i], nearest[j]),
        ]
        row += _kernel(sim_a, sim_b, pair_y, i, j)
        row += _category(inferred[i], inferred[j], donor_sims[i], donor_sims[j], memory, own)
        rows.append(row)
    features = np.nan_to_num(np.array(rows, dtype=np.float64), neginf=0.0, posinf=0.0)
    return features.astype(np.float32), pairs


def _kernel(
    sim_a: np.ndarray, sim_b: np.ndarray, labels: np.ndarray, i: int, j: int
) -> list[float]:
    if labels.size == 0:
        return [0.0] * 5
    window, scores = kernel_window(sim_a, sim_b, i, j)
    out: list[float] = []
    for k in KERNEL_SIZES:
        out += [float(labels[window[:k]].mean()), float(scores[:k].mean()) / 2]
    weights = kernel_weights(scores)
    out.append(float((weights * labels[window]).sum() / weights.sum()))
    return out


def kernel_window(
    sim_a: np.ndarray, sim_b: np.ndarray, i: int, j: int, size: int = KERNEL_WINDOW
) -> tuple[np.ndarray, np.ndarray]:
    """The memory pairs most like the session pair (i, j), best first, and their scores
    (`sim_a`/`sim_b`: session items x memory pairs' first/second item similarities)."""
    scores = np.maximum(sim_a[i] + sim_b[j], sim_a[j] + sim_b[i])
    # One partial sort for the widest window; the narrower top-k are its best entries.
    size = min(size, scores.size)
    window = np.argpartition(-scores, size - 1)[:size]
    window = window[np.argsort(-scores[window], kind="stable")]
    return window, scores[window]


def kernel_weights(scores: np.ndarray) -> np.ndarray:
    """Unnormalised weights of a window's pairs (scores best first): the `kernw50` vote."""
    weights: np.ndarray = np.exp((scores - scores[0]) / KERNEL_TEMPERATURE)
    return weights


def _category(
    a: Category | None,
    b: Category | None,
    sim_a: float,
    sim_b: float,
    memory: DomainMemory,
    own: dict[tuple[Category, Category], list[float]],
) -> list[float]:
    known = a is not None and b is not None
    row = [float(known and a[:depth] == b[:depth]) for depth in (2, 3, 4)]  # type: ignore[index]
    row += [float(a == b), min(sim_a, sim_b)]
    if a is not None and b is not None:
        key = (a[:4], b[:4])
        positive, total = memory.category_pairs.get(key, [0.0, 0.0])
        own_positive, own_total = own.get(key, [0.0, 0.0])
        positive, total = positive - own_positive, total - own_total
        row += [(positive + SMOOTHING * memory.prior) / (total + SMOOTHING), float(np.log1p(total))]
    else:
        row += [memory.prior, 0.0]
    return row
