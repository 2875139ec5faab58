"""Bundle-generation metrics with AICL parity: pure functions, no I/O.

Definitions (DESIGN.md §3). Per session, P = predicted bundles after dropping bundles of fewer
than 2 items and G = ground-truth bundles. A prediction p *hits* a GT bundle g when p ⊆ g.

- ``2024`` (AICL, SIGIR 2024; ``utils/metrics.py`` ``compute`` in the AICL release): each p is
  matched to the *first* g that contains it. precision_s = hits/|P|, recall_s = hits/|G|,
  coverage = Σ|p|/|g| over hits ÷ number of hits (micro average over all sessions).
- ``2025`` (``BundleRec/bundle_generation`` ``utils/metrics.py``): every (g, p) pair with p ⊆ g is
  a hit. precision_s = hit pairs/|P| (can exceed 1 when GT bundles overlap),
  recall_s = |{g hit at least once}|/|G|, coverage = mean |p|/|g| over hit pairs.

Modes:
- ``aicl`` reproduces the reference pipeline: sessions whose output did not parse, or whose
  output is empty after dropping 1-item bundles, leave the averages (its ``process_results``
  drops them before ``compute`` runs).
- ``strict`` keeps every labelled session; those count as zeros. The evaluator also drops
  repeated bundles of one prediction before strict scoring (repeating a correct bundle must not
  raise precision); ``aicl`` scores the bundles as given, as the reference code does.

Whole-bundle metrics (`bundlekd.eval.partition`) sit beside them: exact P/R (p == g, per
session), GJS (per session), pair P/R/F1 (micro over item pairs) and BCubed P/R/F (over items).
A subset hit credits a fragment; these credit the whole bundle.

Sessions with no GT bundle (raw BundleRec data only) have no recall. They are kept out of the
averages and feed the false-positive rate instead: the share of them where the method still
output at least one bundle of >= 2 items.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from bundlekd.data.overlap import jaccard
from bundlekd.eval.partition import f1, partition_counts, unscored_counts

Mode = Literal["strict", "aicl"]
Version = Literal["2024", "2025"]

MODES: tuple[Mode, ...] = ("strict", "aicl")
VERSIONS: tuple[Version, ...] = ("2025", "2024")
DEFAULT_JACCARD_TAU = 0.5


@dataclass(frozen=True)
class SessionScores:
    """Hit counts of one session; the per-session rates are derived from them.

    Attributes:
        parsed: the output was read as an answer (and existed); False means it is scored as no
            output.
        n_pred: |P|, predicted bundles with >= 2 items.
        n_gold: |G|, ground-truth bundles (0 for a no-bundle session).
        hits_2024: predictions contained in some GT bundle (each counted once).
        coverage_sum_2024: Σ|p|/|g| over those hits, g the first GT bundle containing p.
        hit_pairs_2025: (g, p) pairs with p ⊆ g.
        gold_hit_2025: GT bundles that contain at least one prediction.
        coverage_sum_2025: Σ|p|/|g| over the hit pairs.
        exact_pred: predictions equal to some GT bundle.
        exact_gold: GT bundles equal to some prediction.
        jaccard_pred: predictions with Jaccard >= τ against some GT bundle.
        jaccard_gold: GT bundles with Jaccard >= τ against some prediction.
        gjs: Greedy Jaccard Similarity of the session.
        pairs_pred, pairs_gold, pairs_common: item pairs sharing a predicted bundle, a gold
            bundle, both.
        bcubed_precision_sum, bcubed_recall_sum, bcubed_items: BCubed sums over the items.
    """

    parsed: bool
    n_pred: int
    n_gold: int
    hits_2024: int = 0
    coverage_sum_2024: float = 0.0
    hit_pairs_2025: int = 0
    gold_hit_2025: int = 0
    coverage_sum_2025: float = 0.0
    exact_pred: int = 0
    exact_gold: int = 0
    jaccard_pred: int = 0
    jaccard_gold: int = 0
    gjs: float = 0.0
    pairs_pred: int = 0
    pairs_gold: int = 0
    pairs_common: int = 0
    bcubed_precision_sum: float = 0.0
    bcubed_recall_sum: float = 0.0
    bcubed_items: int = 0

    @property
    def valid_output(self) -> bool:
        """Valid output (kept by the reference pipeline): parsed, >= 1 bundle of >= 2 items."""
        return self.parsed and self.n_pred > 0

    def precision(self, version: Version) -> float:
        hits = self.hits_2024 if version == "2024" else self.hit_pairs_2025
        return _ratio(hits, self.n_pred)

    def recall(self, version: Version) -> float:
        # 2024 counts every predicted piece of a GT bundle; 2025 each GT bundle at most once.
        hits = self.hits_2024 if version == "2024" else self.gold_hit_2025
        return _ratio(hits, self.n_gold)

    def hits(self, version: Version) -> int:
        return self.hits_2024 if version == "2024" else self.hit_pairs_2025

    def coverage_sum(self, version: Version) -> float:
        return self.coverage_sum_2024 if version == "2024" else self.coverage_sum_2025


@dataclass(frozen=True)
class Aggregate:
    """Metrics of a group of sessions under one (mode, version).

    Attributes:
        precision, recall: means of the per-session rates over the averaged sessions.
        coverage: micro average of |p|/|g| over all hits (0.0 when nothing hit).
        exact_precision, exact_recall: same averaging, p == g.
        jaccard_precision, jaccard_recall: same averaging, J(p, g) >= τ.
        gjs: mean Greedy Jaccard Similarity over the averaged sessions.
        pair_precision, pair_recall, pair_f1: co-bundled item pairs, micro-averaged.
        bcubed_precision, bcubed_recall, bcubed_f1: BCubed over all items of the sessions.
        valid_output_rate: labelled sessions with usable output / labelled sessions.
        n_sessions: sessions in the averages (aicl mode drops those without valid output).
        n_labelled: sessions with >= 1 GT bundle.
        n_hits: hits (2024) or hit pairs (2025), the coverage denominator.
        n_no_gold: sessions with no GT bundle.
        fp_rate: share of no-GT sessions with >= 1 predicted bundle; None without such sessions.
    """

    mode: Mode
    version: Version
    precision: float
    recall: float
    coverage: float
    exact_precision: float
    exact_recall: float
    jaccard_precision: float
    jaccard_recall: float
    gjs: float
    pair_precision: float
    pair_recall: float
    pair_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    valid_output_rate: float
    n_sessions: int
    n_labelled: int
    n_hits: int
    n_no_gold: int
    fp_rate: float | None


def multi_item_bundles(bundles: Sequence[Collection[str]]) -> list[frozenset[str]]:
    """The bundles that count: those with >= 2 distinct items (the reference drops the rest)."""
    return [frozenset(b) for b in bundles if len(set(b)) >= 2]


def score_session(
    pred_bundles: Sequence[Collection[str]],
    gold_bundles: Sequence[Collection[str]],
    *,
    parsed: bool = True,
    tau: float = DEFAULT_JACCARD_TAU,
    items: Collection[str] = (),
) -> SessionScores:
    """Score one session's predicted bundles against its GT bundles.

    Args:
        pred_bundles: predicted bundles as item-id collections, in output order. Bundles with
            fewer than 2 items are dropped here. Duplicate bundles are kept (as the reference
            does; `unique_bundles` drops them first for strict scoring).
        gold_bundles: GT bundles in dataset order (the order decides the 2024 coverage).
        parsed: False when the output did not parse or is missing; it then counts as no output.
        tau: Jaccard threshold of the J >= τ variant.
        items: the session's item ids, for BCubed (an item in no bundle is a singleton);
            default: the items of the bundles.

    Returns:
        The session's hit counts.

    Example:
        >>> s = score_session([["a", "b"], ["c"]], [["a", "b", "c"]])
        >>> (s.n_pred, s.hits_2024, s.precision("2024"), round(s.coverage_sum_2024, 3))
        (1, 1, 1.0, 0.667)
    """
    preds = multi_item_bundles(pred_bundles) if parsed else []
    gold = [frozenset(g) for g in gold_bundles]

    hits_2024, cov_2024 = 0, 0.0
    for p in preds:
        first = next((g for g in gold if p <= g), None)
        if first is not None:
            hits_2024 += 1
            cov_2024 += len(p) / len(first)

    pairs_2025, gold_hit, cov_2025 = 0, 0, 0.0
    for g in gold:
        inside = [p for p in preds if p <= g]
        pairs_2025 += len(inside)
        cov_2025 += sum(len(p) / len(g) for p in inside)
        gold_hit += bool(inside)

    whole = partition_counts(preds, gold, items) if parsed else unscored_counts(gold, items)
    return SessionScores(
        parsed=parsed,
        n_pred=len(preds),
        n_gold=len(gold),
        hits_2024=hits_2024,
        coverage_sum_2024=cov_2024,
        hit_pairs_2025=pairs_2025,
        gold_hit_2025=gold_hit,
        coverage_sum_2025=cov_2025,
        exact_pred=sum(any(p == g for g in gold) for p in preds),
        exact_gold=sum(any(p == g for p in preds) for g in gold),
        jaccard_pred=sum(any(jaccard(p, g) >= tau for g in gold) for p in preds),
        jaccard_gold=sum(any(jaccard(p, g) >= tau for p in preds) for g in gold),
        gjs=whole.gjs,
        pairs_pred=whole.pairs_pred,
        pairs_gold=whole.pairs_gold,
        pairs_common=whole.pairs_common,
        bcubed_precision_sum=whole.bcubed_precision_sum,
        bcubed_recall_sum=whole.bcubed_recall_sum,
        bcubed_items=whole.bcubed_items,
    )


def aggregate(scores: Sequence[SessionScores], mode: Mode, version: Version) -> Aggregate:
    """Average per-session scores into one row of metrics.

    Args:
        scores: one entry per gold session of the group (missing outputs scored invalid).
        mode: ``strict`` (sessions without valid output count as zeros) or ``aicl`` (they are
            dropped).
        version: ``2024`` or ``2025`` hit counting (precision, recall, coverage).

    Returns:
        The group's metrics. Rates over an empty set are 0.0.
    """
    labelled = [s for s in scores if s.n_gold > 0]
    no_gold = [s for s in scores if s.n_gold == 0]
    averaged = labelled if mode == "strict" else [s for s in labelled if s.valid_output]
    n = len(averaged)
    n_hits = sum(s.hits(version) for s in averaged)
    pair_p = _ratio(sum(s.pairs_common for s in averaged), sum(s.pairs_pred for s in averaged))
    pair_r = _ratio(sum(s.pairs_common for s in averaged), sum(s.pairs_gold for s in averaged))
    n_items = sum(s.bcubed_items for s in averaged)
    bcubed_p = _ratio(sum(s.bcubed_precision_sum for s in averaged), n_items)
    bcubed_r = _ratio(sum(s.bcubed_recall_sum for s in averaged), n_items)
    return Aggregate(
        mode=mode,
        version=version,
        precision=_mean([s.precision(version) for s in averaged]),
        recall=_mean([s.recall(version) for s in averaged]),
        coverage=_ratio(sum(s.coverage_sum(version) for s in averaged), n_hits),
        exact_precision=_mean([_ratio(s.exact_pred, s.n_pred) for s in averaged]),
        exact_recall=_mean([_ratio(s.exact_gold, s.n_gold) for s in averaged]),
        jaccard_precision=_mean([_ratio(s.jaccard_pred, s.n_pred) for s in averaged]),
        jaccard_recall=_mean([_ratio(s.jaccard_gold, s.n_gold) for s in averaged]),
        gjs=_mean([s.gjs for s in averaged]),
        pair_precision=pair_p,
        pair_recall=pair_r,
        pair_f1=f1(pair_p, pair_r),
        bcubed_precision=bcubed_p,
        bcubed_recall=bcubed_r,
        bcubed_f1=f1(bcubed_p, bcubed_r),
        valid_output_rate=_ratio(sum(s.valid_output for s in labelled), len(labelled)),
        n_sessions=n,
        n_labelled=len(labelled),
        n_hits=n_hits,
        n_no_gold=len(no_gold),
        fp_rate=false_positive_rate(no_gold) if no_gold else None,
    )


def aggregate_all(
    scores: Sequence[SessionScores], reference_scores: Sequence[SessionScores] | None = None
) -> dict[str, Aggregate]:
    """Every (mode, version) variant, keyed ``"strict-2025"``, ``"aicl-2024"``, ...

    Args:
        scores: per-session scores for the strict variants (repeated bundles dropped).
        reference_scores: per-session scores of the bundles as given, for the aicl variants
            (default: `scores`).
    """
    by_mode = {"strict": scores, "aicl": scores if reference_scores is None else reference_scores}
    return {
        variant_key(mode, version): aggregate(by_mode[mode], mode, version)
        for mode in MODES
        for version in VERSIONS
    }


def unique_bundles(bundles: Sequence[Collection[str]]) -> tuple[list[Collection[str]], int]:
    """(bundles with repeats removed, first kept, order kept; how many repeats were dropped).

    Two bundles repeat each other when they hold the same items, in any order.
    """
    seen: set[frozenset[str]] = set()
    kept: list[Collection[str]] = []
    for bundle in bundles:
        key = frozenset(bundle)
        if key not in seen:
            seen.add(key)
            kept.append(bundle)
    return kept, len(bundles) - len(kept)


def variant_key(mode: Mode, version: Version) -> str:
    return f"{mode}-{version}"


HEADLINE = variant_key("strict", "2025")
REFERENCE = variant_key("aicl", "2024")


def false_positive_rate(no_gold_scores: Sequence[SessionScores]) -> float:
    """Share of no-GT sessions where the output holds >= 1 bundle of >= 2 items."""
    return _ratio(sum(s.valid_output for s in no_gold_scores), len(no_gold_scores))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
