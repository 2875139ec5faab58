"""Kernel evidence of the pair features, for every pair of a session at once.

For a session pair (i, j), every training pair (a, b) of one memory session scores
max(sim(i,a) + sim(j,b), sim(j,a) + sim(i,b)); the features are the bundled share and mean
score of the best 5 and 20, and a softmax-weighted vote over the best 50 (`kernel_window`).

Scoring all ~25k training pairs for all 45 session pairs is most of a session's arithmetic,
so `kernel_features` prunes by memory session first: no pair of session s scores above
max_a sim(i,a) + max_b sim(j,b), so once the best few sessions give a 50th-best score, only
sessions whose bound reaches it are scored. The window found is the one the full scan finds
(same scores, same labels, same order) unless equal scores with different labels straddle a
place that matters; those rows are scored in full, exactly as the one-pair-at-a-time code
did (`np.argpartition` per row), so the features never depend on the pruning.
"""

from __future__ import annotations

import numpy as np

from bundlekd.knowledge_base.grouping.memory import DomainMemory

KERNEL_SIZES = (5, 20)
KERNEL_WINDOW = 50
KERNEL_TEMPERATURE = 0.1  # the weighted vote's softness over the window's scores
SEED_SESSIONS = 8  # memory sessions scored first, for a lower bound on the 50th-best score
WINDOW_ROWS = 64  # session pairs whose candidates share one padded scratch matrix
N_KERNEL = 2 * len(KERNEL_SIZES) + 1


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
    weights: np.ndarray = np.exp((scores - scores[..., :1]) / KERNEL_TEMPERATURE)
    return weights


def kernel_features(
    to_memory: np.ndarray,
    memory: DomainMemory,
    first: np.ndarray,
    second: np.ndarray,
    exclude: int | None = None,
) -> np.ndarray:
    """(pairs, 5) float64: kern5, kern5_sim, kern20, kern20_sim, kernw50 per session pair.

    Args:
        to_memory: (n, slots) similarities of the session's items to the memory's slots, the
            excluded session's slots at -inf.
        memory: the domain's training memory.
        first, second: the session pairs' item indices (first < second).
        exclude: the memory session left out (the query itself, when training).
    """
    out = np.zeros((len(first), N_KERNEL), dtype=np.float64)
    total = len(memory.pair_y) - (0 if exclude is None else int(memory.session_pairs[exclude]))
    if total == 0 or len(first) == 0:
        return out
    size = min(KERNEL_WINDOW, total)
    full = np.ones(len(first), dtype=bool)
    if total >= 4 * KERNEL_WINDOW and len(memory.session_pairs) > SEED_SESSIONS:
        found = _pruned_windows(to_memory, memory, first, second, exclude)
        if found is not None:
            scores, labels, exact = found
            _fill(out, exact, scores[exact], labels[exact], size)
            full = ~exact
    if full.any():
        scores, labels = _full_windows(to_memory, memory, first[full], second[full], exclude, size)
        _fill(out, full, scores, labels, size)
    return out


def _fill(
    out: np.ndarray, rows: np.ndarray, scores: np.ndarray, labels: np.ndarray, size: int
) -> None:
    """The features of windows (scores best first, their labels), as the per-pair code did."""
    columns = []
    for k in KERNEL_SIZES:
        k = min(k, size)
        columns += [labels[:, :k].mean(axis=1), scores[:, :k].mean(axis=1).astype(np.float64) / 2]
    weights = kernel_weights(scores)
    columns.append((weights * labels).sum(axis=1) / weights.sum(axis=1))
    out[rows] = np.stack(columns, axis=1)


def _full_windows(
    to_memory: np.ndarray,
    memory: DomainMemory,
    first: np.ndarray,
    second: np.ndarray,
    exclude: int | None,
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Every memory pair scored, windows as `kernel_window` picks them (row by row, the same
    partition on the same scores)."""
    keep = slice(None) if exclude is None else memory.pair_session != exclude
    labels = memory.pair_y[keep]
    pair_a, pair_b = memory.pair_a[keep], memory.pair_b[keep]
    # Only the rows asked for (usually a few): each row's items against every memory pair.
    at_first, at_second = to_memory[first], to_memory[second]
    scores = np.maximum(
        at_first[:, pair_a] + at_second[:, pair_b], at_second[:, pair_a] + at_first[:, pair_b]
    )
    window = np.argpartition(-scores, size - 1, axis=1)[:, :size]
    chosen = np.take_along_axis(scores, window, axis=1)
    order = np.argsort(-chosen, axis=1, kind="stable")
    window = np.take_along_axis(window, order, axis=1)
    return np.take_along_axis(chosen, order, axis=1), labels[window]


def _pruned_windows(
    to_memory: np.ndarray,
    memory: DomainMemory,
    first: np.ndarray,
    second: np.ndarray,
    exclude: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(scores, labels, exact): the best KERNEL_WINDOW memory pairs per session pair from the
    sessions and slots that can hold them; `exact` marks the rows whose window equals the full
    scan's. None when no row has enough candidates. Rows are independent: a row's window is
    the same whatever other rows (of this session or of other sessions) come with it."""
    best = np.maximum.reduceat(to_memory, memory.slot_start[:-1], axis=1)  # (n, sessions)
    bound = best[first] + best[second]  # no pair of a session scores above it
    bound[:, memory.session_pairs == 0] = -np.inf
    if exclude is not None:
        bound[:, exclude] = -np.inf
    # A lower bound on each row's 50th-best score: the 50th best of the best-bounded sessions.
    seeds = np.argpartition(-bound, SEED_SESSIONS - 1, axis=1)[:, :SEED_SESSIONS]
    seed_scores = _seed_scores(to_memory, memory, first, second, seeds, bound)
    floor = -np.partition(-seed_scores, KERNEL_WINDOW - 1, axis=1)[:, KERNEL_WINDOW - 1]
    # Rows whose seeds hold too few pairs get no candidates (not exact: scored in full).
    floor[np.isfinite(seed_scores).sum(axis=1) < KERNEL_WINDOW] = np.inf
    # Sessions whose bound reaches the floor, then their slots whose own bound does: a slot a
    # of session s pairs with no b above max(sim(i,a) + best(j,s), sim(j,a) + best(i,s)).
    row, session = np.nonzero(bound >= floor[:, None])
    sizes = memory.slot_start[session + 1] - memory.slot_start[session]
    owner, local = _expand(sizes)
    row, session = row[owner], session[owner]
    slot = memory.slot_start[session] + local
    width, groups = to_memory.shape[1], best.shape[1]
    flat, flat_best = np.ascontiguousarray(to_memory).ravel(), best.ravel()
    i, j = first[row] * width, second[row] * width  # flat row offsets: 1-d takes are cheaper
    reach = np.maximum(
        flat[i + slot] + flat_best[j // width * groups + session],
        flat[j + slot] + flat_best[i // width * groups + session],
    )
    keep = reach >= floor[row]
    row, session, local, i, j = row[keep], session[keep], local[keep], i[keep], j[keep]
    # Every pair starting at a kept slot (the slot's pairs are contiguous, (m - 1) of them).
    partners = memory.slot_start[session + 1] - memory.slot_start[session] - 1
    owner, offset = _expand(partners)
    index = memory.pair_start[session][owner] + local[owner] * partners[owner] + offset
    row, i, j = row[owner], i[owner], j[owner]
    a, b = memory.pair_a[index], memory.pair_b[index]
    found = np.maximum(flat[i + a] + flat[j + b], flat[j + a] + flat[i + b])
    counts = np.bincount(row, minlength=len(first))
    if counts.max() < KERNEL_WINDOW:  # rows with fewer are not exact (their window has -inf)
        return None
    return _windows(found, memory.pair_y[index], counts)


def _windows(
    found: np.ndarray, found_labels: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scores, labels, exact) of each row's best KERNEL_WINDOW candidates (`found`: the
    candidates' scores, grouped by row; `counts`: how many each row has). Rows go through in
    blocks of similar counts, so one long row does not widen every row's scratch."""
    rows = len(counts)
    chosen = np.full((rows, KERNEL_WINDOW), -np.inf, dtype=found.dtype)
    chosen_labels = np.zeros((rows, KERNEL_WINDOW), dtype=found_labels.dtype)
    exact = np.zeros(rows, dtype=bool)
    starts = np.cumsum(counts) - counts
    by_count = np.argsort(counts, kind="stable")
    by_count = by_count[counts[by_count] >= KERNEL_WINDOW]  # the others stay not exact
    for block in range(0, len(by_count), WINDOW_ROWS):
        members = by_count[block : block + WINDOW_ROWS]
        owner, column = _expand(counts[members])
        source = starts[members][owner] + column
        scores = np.full((len(members), int(counts[members].max())), -np.inf, dtype=found.dtype)
        labels = np.full(scores.shape, -1.0, dtype=found_labels.dtype)
        scores[owner, column] = found[source]
        labels[owner, column] = found_labels[source]
        window = np.argpartition(-scores, KERNEL_WINDOW - 1, axis=1)[:, :KERNEL_WINDOW]
        best = np.take_along_axis(scores, window, axis=1)
        window = np.take_along_axis(window, np.argsort(-best, axis=1, kind="stable"), axis=1)
        best, best_labels = (
            np.take_along_axis(scores, window, 1),
            np.take_along_axis(labels, window, 1),
        )
        # Equal scores with different labels could be ordered (or cut) otherwise by the full
        # scan: such rows are not trusted. Equal scores with equal labels change nothing.
        inside = (best[:, 1:] == best[:, :-1]) & (best_labels[:, 1:] != best_labels[:, :-1])
        cut = (scores == best[:, -1:]) & (labels != best_labels[:, -1:])
        chosen[members], chosen_labels[members] = best, best_labels
        exact[members] = ~inside.any(axis=1) & ~cut.any(axis=1)
    return chosen, chosen_labels, exact


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, k) for k in range(counts[owner]), owners in order: a ragged arange."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - starts[owner]


def _seed_scores(
    to_memory: np.ndarray,
    memory: DomainMemory,
    first: np.ndarray,
    second: np.ndarray,
    sessions: np.ndarray,
    bound: np.ndarray,
) -> np.ndarray:
    """Scores of every pair of the given memory sessions, (pairs, sessions per row x longest
    session), -inf where a session has fewer pairs or is left out."""
    # As wide as the longest seed session (the padding is -inf): at least enough columns for
    # a window, so a row's KERNEL_WINDOW-th best is the one the memory-wide width gives.
    longest = int(memory.session_pairs[sessions].max())
    longest = max(longest, -(-KERNEL_WINDOW // sessions.shape[1]))
    offsets = np.arange(longest)
    index = memory.pair_start[sessions][..., None] + offsets
    usable = offsets < memory.session_pairs[sessions][..., None]
    usable &= np.isfinite(np.take_along_axis(bound, sessions, axis=1))[..., None]
    index = np.where(usable, index, 0).reshape(len(first), -1)
    a, b = memory.pair_a[index], memory.pair_b[index]
    flat, width = np.ascontiguousarray(to_memory).ravel(), to_memory.shape[1]
    i, j = first[:, None] * width, second[:, None] * width
    found = np.maximum(flat[i + a] + flat[j + b], flat[j + a] + flat[i + b])
    return np.where(usable.reshape(len(first), -1), found, -np.inf)
