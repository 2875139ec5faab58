"""Whole-bundle metrics of one session: pure functions on item-id sets, no I/O.

AICL's subset hit credits a fragment (a pair inside a gold triple is a hit), so a method that
emits only pairs scores well on it while missing every larger bundle. These metrics read the
predicted bundles as a grouping of the session and compare it with the gold grouping
(DESIGN.md §3, "whole-bundle metrics"):

- **GJS** (Greedy Jaccard Similarity, LLM4BEAR): repeatedly match the unmatched (p, g) of
  highest Jaccard (J > 0), sum the matched J, divide by max(|P|, |G|).
- **pair counts**: unordered item pairs that share a predicted bundle, a gold bundle, both;
  the evaluator micro-averages them into pair precision / recall / F1.
- **BCubed** (Amigó et al. 2009, the extended form that admits overlapping bundles): per item
  e, precision = mean over items e' that share a predicted bundle with e of
  min(|C(e)∩C(e')|, |L(e)∩L(e')|) / |C(e)∩C(e')|, recall the same with the roles swapped
  (C: predicted bundles of an item, L: gold bundles). An item in no bundle forms its own
  singleton, so leaving an unrelated item out is correct and leaving a bundled one out costs
  its recall. The evaluator averages over all items of all sessions.

Hand-written: no maintained library scores overlapping groupings with these definitions
(scikit-learn's pair-counting scores need disjoint labels).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import combinations

from bundlekd.data.overlap import jaccard


@dataclass(frozen=True, slots=True)
class PartitionCounts:
    """One session's whole-bundle numbers (sums, so sessions can be pooled)."""

    gjs: float
    pairs_pred: int
    pairs_gold: int
    pairs_common: int
    bcubed_precision_sum: float
    bcubed_recall_sum: float
    bcubed_items: int


def greedy_jaccard(preds: Sequence[frozenset[str]], gold: Sequence[frozenset[str]]) -> float:
    """GJS of one session (0.0 when either side is empty).

    Ties go to the earliest prediction, then the earliest gold bundle, so the value does not
    depend on anything but the two lists.

    Example:
        >>> greedy_jaccard([frozenset("ab"), frozenset("cd")], [frozenset("abc")])
        0.3333333333333333
    """
    if not preds or not gold:
        return 0.0
    candidates = sorted(
        ((-jaccard(p, g), i, j) for i, p in enumerate(preds) for j, g in enumerate(gold)),
    )
    used_p: set[int] = set()
    used_g: set[int] = set()
    total = 0.0
    for negative, i, j in candidates:
        if negative >= 0.0:
            break  # J = 0 from here on: nothing more to match
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        total -= negative
    return total / max(len(preds), len(gold))


def co_bundled_pairs(bundles: Sequence[Collection[str]]) -> set[tuple[str, str]]:
    """Unordered item pairs (sorted tuples) that share at least one bundle."""
    return {pair for b in bundles for pair in combinations(sorted(set(b)), 2)}


def bcubed_sums(
    preds: Sequence[frozenset[str]],
    gold: Sequence[frozenset[str]],
    items: Collection[str],
) -> tuple[float, float, int]:
    """(Σ item precision, Σ item recall, number of items) of extended BCubed.

    Every item of `items` (and of any bundle) is scored; an item in no predicted (gold) bundle
    is a predicted (gold) singleton.
    """
    universe = sorted(set(items).union(*preds, *gold))
    pred_of = _memberships(preds, universe)
    gold_of = _memberships(gold, universe)
    precision_sum = recall_sum = 0.0
    for e in universe:
        precision_sum += _bcubed_item(e, pred_of, gold_of, universe)
        recall_sum += _bcubed_item(e, gold_of, pred_of, universe)
    return precision_sum, recall_sum, len(universe)


def partition_counts(
    preds: Sequence[frozenset[str]],
    gold: Sequence[frozenset[str]],
    items: Collection[str] = (),
) -> PartitionCounts:
    """All whole-bundle numbers of one session (`preds`: bundles of >= 2 items, no repeats)."""
    pred_pairs, gold_pairs = co_bundled_pairs(preds), co_bundled_pairs(gold)
    precision_sum, recall_sum, n_items = bcubed_sums(preds, gold, items)
    return PartitionCounts(
        gjs=greedy_jaccard(preds, gold),
        pairs_pred=len(pred_pairs),
        pairs_gold=len(gold_pairs),
        pairs_common=len(pred_pairs & gold_pairs),
        bcubed_precision_sum=precision_sum,
        bcubed_recall_sum=recall_sum,
        bcubed_items=n_items,
    )


def unscored_counts(gold: Sequence[frozenset[str]], items: Collection[str] = ()) -> PartitionCounts:
    """An output that could not be read: nothing matched, every item scores 0 (strict)."""
    n_items = len(set(items).union(*gold))
    return PartitionCounts(
        gjs=0.0,
        pairs_pred=0,
        pairs_gold=len(co_bundled_pairs(gold)),
        pairs_common=0,
        bcubed_precision_sum=0.0,
        bcubed_recall_sum=0.0,
        bcubed_items=n_items,
    )


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _memberships(
    bundles: Sequence[frozenset[str]], universe: Sequence[str]
) -> dict[str, frozenset[int | str]]:
    """Bundle indices of each item; an item in none gets its own singleton label."""
    member: dict[str, set[int | str]] = {e: set() for e in universe}
    for index, bundle in enumerate(bundles):
        for e in bundle:
            member[e].add(index)
    return {e: frozenset(m) if m else frozenset({f"self:{e}"}) for e, m in member.items()}


def _bcubed_item(
    e: str,
    mine: dict[str, frozenset[int | str]],
    other: dict[str, frozenset[int | str]],
    universe: Sequence[str],
) -> float:
    """Multiplicity precision of e (swap `mine` and `other` for its recall)."""
    ratios = []
    for e2 in universe:
        shared = len(mine[e] & mine[e2])
        if shared:
            ratios.append(min(shared, len(other[e] & other[e2])) / shared)
    return sum(ratios) / len(ratios)
