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

Every column is computed for all pairs at once (array operations, no per-pair Python), with
the same float operations in the same order as the one-pair-at-a-time code it replaced, so the
features (and the tool's predictions) are the same bit for bit; tests compare against that code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from bundlekd.knowledge_base.grouping.kernel import (
    KERNEL_SIZES,
    KERNEL_TEMPERATURE,
    KERNEL_WINDOW,
    kernel_features,
    kernel_weights,
    kernel_window,
)
from bundlekd.knowledge_base.grouping.memory import DomainMemory
from bundlekd.knowledge_base.index.topk import stable_top_k

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
SMOOTHING = 5.0  # pseudo-counts of the prior in the category-pair rate
__all__ = [
    "FEATURE_GROUPS",
    "FEATURE_NAMES",
    "KERNEL_SIZES",
    "KERNEL_TEMPERATURE",
    "KERNEL_WINDOW",
    "NEIGHBOURS",
    "SMOOTHING",
    "kernel_weights",
    "kernel_window",
    "pair_features",
    "pair_features_batch",
]


def _tokens(title: str) -> list[str]:
    return _TOKEN.findall(title.lower())


def pair_features(
    vectors: np.ndarray,
    titles: list[str],
    memory: DomainMemory,
    exclude: int | None = None,
    *,
    to_memory: np.ndarray | None = None,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(features, pairs): one row per item pair (i < j), columns as FEATURE_NAMES.

    Args:
        vectors: (n, d) unit-norm title vectors of the session.
        titles: the n public titles.
        memory: the domain's training memory.
        exclude: index of the memory session to leave out (the query itself, when training).
        to_memory: `vectors @ memory.vectors.T` when the caller has it (shared products).
    """
    n = vectors.shape[0]
    first, second = np.triu_indices(n, 1)
    pairs = list(zip(first.tolist(), second.tolist(), strict=True))
    if not pairs:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32), pairs
    if to_memory is None:
        to_memory = vectors @ memory.vectors.T  # (n, slots)
    elif exclude is not None:
        to_memory = to_memory.copy()  # the caller's products stay as they are
    if exclude is not None:
        to_memory[:, memory.slot_session == exclude] = -np.inf
    features = np.concatenate(
        [
            _cosine_columns(vectors, first, second),
            _token_columns(titles, first, second),
            _memory_columns(to_memory, memory, first, second),
            kernel_features(to_memory, memory, first, second, exclude),
            _category_columns(to_memory, memory, first, second, exclude),
        ],
        axis=1,
    )
    features = np.nan_to_num(features, neginf=0.0, posinf=0.0)
    return features.astype(np.float32), pairs


def pair_features_batch(
    blocks: Sequence[np.ndarray],
    titles: Sequence[list[str]],
    memory: DomainMemory,
    to_memory: Sequence[np.ndarray | None] | None = None,
) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
    """`pair_features` of many sessions of one domain (none left out of the memory): the
    memory, kernel and category columns of all their pairs come from one set of array
    operations over the stacked items, whose rows do not interact, so every session's
    features are the ones `pair_features` gives it alone.

    Args:
        blocks: per session, its (n, d) unit-norm title vectors.
        titles: per session, its n public titles.
        memory: the domain's training memory.
        to_memory: per session, `block @ memory.vectors.T` when the caller has it.
    """
    products = list(to_memory) if to_memory is not None else [None] * len(blocks)
    stacked, firsts, seconds, pairs, offset = [], [], [], [], 0
    for block, product in zip(blocks, products, strict=True):
        n = block.shape[0]
        first, second = np.triu_indices(n, 1)
        pairs.append(list(zip(first.tolist(), second.tolist(), strict=True)))
        if len(first):
            stacked.append(product if product is not None else block @ memory.vectors.T)
            firsts.append(first + offset)
            seconds.append(second + offset)
            offset += n
    results: list[tuple[np.ndarray, list[tuple[int, int]]]] = []
    if not stacked:
        return [(np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32), p) for p in pairs]
    everything = np.concatenate(stacked)
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    shared = np.concatenate(
        [
            _memory_columns(everything, memory, first, second),
            kernel_features(everything, memory, first, second),
            _category_columns(everything, memory, first, second, None),
        ],
        axis=1,
    )
    start = 0
    for block, names, found in zip(blocks, titles, pairs, strict=True):
        if not found:
            results.append((np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32), found))
            continue
        first, second = np.triu_indices(block.shape[0], 1)
        own = shared[start : start + len(found)]
        start += len(found)
        features = np.concatenate(
            [_cosine_columns(block, first, second), _token_columns(names, first, second), own],
            axis=1,
        )
        features = np.nan_to_num(features, neginf=0.0, posinf=0.0)
        results.append((features.astype(np.float32), found))
    return results


def _cosine_columns(vectors: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """cos ... sess_mean_cos, with the position columns (FEATURE_NAMES[0:13])."""
    n = vectors.shape[0]
    sims = vectors @ vectors.T
    off = sims.copy()
    np.fill_diagonal(off, -np.inf)
    rank = np.empty((n, n), dtype=np.int64)
    np.put_along_axis(
        rank, np.argsort(-off, axis=1, kind="stable"), np.arange(n)[None, :].repeat(n, 0), axis=1
    )
    values = sims[~np.eye(n, dtype=bool)]
    mean, std = float(values.mean()), float(values.std()) + 1e-6
    row_max = off.max(axis=1)
    cos = sims[first, second]
    gap_first, gap_second = row_max[first] - cos, row_max[second] - cos
    rank_first, rank_second = rank[first, second], rank[second, first]
    distance = second - first
    return np.stack(
        [
            cos,
            (cos - mean) / std,
            np.minimum(gap_first, gap_second),
            np.maximum(gap_first, gap_second),
            np.minimum(rank_first, rank_second),
            np.maximum(rank_first, rank_second),
            (rank_first == 0) & (rank_second == 0),
            np.full(len(first), n),
            distance,
            distance == 1,
            first / (n - 1),
            second / (n - 1),
            np.full(len(first), mean),
        ],
        axis=1,
        dtype=np.float64,
    )


def _token_columns(titles: list[str], first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """tok_jacc, tok_inter, brand: from a session-vocabulary incidence matrix."""
    tokens = [set(_tokens(t)) - _STOP for t in titles]
    vocabulary = {token: k for k, token in enumerate(sorted(set().union(*tokens)))}
    incidence = np.zeros((len(titles), len(vocabulary)), dtype=np.int64)
    for row, found in enumerate(tokens):
        incidence[row, [vocabulary[t] for t in found]] = 1
    overlap = (incidence @ incidence.T)[first, second]
    sizes = incidence.sum(axis=1)
    union = sizes[first] + sizes[second] - overlap
    union = np.where(union == 0, 1, union)
    heads: dict[str, int] = {}
    brand = np.array(
        [heads.setdefault(_tokens(t)[0], len(heads)) if _tokens(t) else -1 for t in titles]
    )
    same_brand = (brand[first] == brand[second]) & (brand[first] >= 0)
    return np.stack([overlap / union, overlap, same_brand], axis=1, dtype=np.float64)


def _memory_columns(
    to_memory: np.ndarray, memory: DomainMemory, first: np.ndarray, second: np.ndarray
) -> np.ndarray:
    """bund_min, bund_max, nn1_min, nn1_max: from each item's nearest training items."""
    k = min(NEIGHBOURS, to_memory.shape[1])
    top = stable_top_k(to_memory, k)
    top_sims = np.take_along_axis(to_memory, top, axis=1)
    weights = np.exp((top_sims - top_sims[:, :1]) / 0.05)
    bundled = (weights * memory.in_bundle[top]).sum(1) / weights.sum(1)
    nearest = top_sims[:, 0]
    return np.stack(
        [
            np.minimum(bundled[first], bundled[second]),
            np.maximum(bundled[first], bundled[second]),
            np.minimum(nearest[first], nearest[second]),
            np.maximum(nearest[first], nearest[second]),
        ],
        axis=1,
        dtype=np.float64,
    )


def _category_columns(
    to_memory: np.ndarray,
    memory: DomainMemory,
    first: np.ndarray,
    second: np.ndarray,
    exclude: int | None,
) -> np.ndarray:
    """cat_eq2 ... catpair_n: each item takes the category of its most similar categorised
    training item; agreement by depth, and the smoothed co-bundle rate of the pair's
    categories (without the excluded session's own pairs)."""
    n = to_memory.shape[0]
    categorised = np.where(memory.has_category[None, :], to_memory, -np.inf)
    donors = np.argmax(categorised, axis=1)
    donor_sims = categorised[np.arange(n), donors]
    known = np.isfinite(donor_sims)
    codes = np.where(known[:, None], memory.category_codes[donors], -1)  # (n, 4)
    both = known[first] & known[second]
    agree = [both & (codes[first, c] == codes[second, c]) for c in range(3)]
    agree.append(codes[first, 3] == codes[second, 3])  # two unknown categories are equal too
    keys = np.asarray(memory.pair_key(codes[first, 2], codes[second, 2]))
    positive, total = _lookup(
        memory.category_pair_keys,
        keys,
        both,
        memory.category_pair_positive,
        memory.category_pair_total,
    )
    if exclude is not None:
        own_keys, own_positive, own_total = memory.own_category_counts(exclude)
        mine, own = _lookup(own_keys, keys, both, own_positive, own_total)
        positive, total = positive - mine, total - own
    rate = (positive + SMOOTHING * memory.prior) / (total + SMOOTHING)
    count = memory.log1p_counts[np.where(both, total, 0.0).astype(np.int64)]
    return np.stack(
        [
            *agree,
            np.minimum(donor_sims[first], donor_sims[second]),
            np.where(both, rate, memory.prior),
            np.where(both, count, 0.0),
        ],
        axis=1,
        dtype=np.float64,
    )


def _lookup(
    table: np.ndarray, keys: np.ndarray, usable: np.ndarray, *columns: np.ndarray
) -> list[np.ndarray]:
    """`columns` at each key's row of the sorted `table` (0.0 where absent or not usable)."""
    if len(table) == 0:
        return [np.zeros(len(keys)) for _ in columns]
    where = np.minimum(np.searchsorted(table, keys), len(table) - 1)
    found = usable & (table[where] == keys)
    return [np.where(found, column[where], 0.0) for column in columns]
