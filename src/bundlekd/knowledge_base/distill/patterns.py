"""Frequent patterns: Apriori over the item categories of training bundles (no LLM).

One *transaction* is the set of category labels of one ground-truth bundle's items. Frequent
itemsets of size >= 2 and the association rules between their parts become `FrequentPattern`
records ("Cases & Sleeves + Screen Protectors are often bundled (support 0.04, confidence
0.61)"), the first knowledge format of the KD study (DESIGN.md §1).

Only training sessions may feed the miner: their categories are the labels of the task (an item
has raw categories only if it sits in some GT bundle, DESIGN.md §2), so `bundle_transactions`
refuses test sessions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bundlekd.data.leakage import check_sessions
from bundlekd.data.schema import Session
from bundlekd.errors import ConfigError

logger = logging.getLogger(__name__)

#: Default granularity: the most specific name of an item's first category path.
DEFAULT_LEVEL = "leaf"
#: Default minimum support, for patterns that become knowledge. The AICL training splits have
#: ~950-1080 GT bundles per domain and ~360-480 distinct leaf categories, so pairs of leaves are
#: rare: 0.005 keeps itemsets seen in about 5 training bundles (more than one annotator's whim)
#: and still yields a few dozen patterns per domain. The Apriori baseline, which only needs to
#: link items, goes lower (0.002, tuned on the validation split: `baselines.apriori`).
DEFAULT_MIN_SUPPORT = 0.005
#: Default minimum confidence of the strongest rule inside a pattern.
DEFAULT_MIN_CONFIDENCE = 0.1
#: Longest itemset mined; bundles average ~3 items, and longer itemsets are too rare to trust.
DEFAULT_MAX_LEN = 3

_DEPTH = re.compile(r"^depth-([1-9][0-9]*)$")


@dataclass(frozen=True, slots=True)
class FrequentPattern:
    """A frequent category itemset (size >= 2) with its strongest association rule.

    Attributes:
        categories: The itemset, sorted; ``(X, X)`` for a same-category (repeat) pattern.
        support: Fraction of training bundles whose categories contain the itemset.
        count: Number of such bundles.
        confidence: P(consequent | antecedent) of the strongest rule within the itemset.
        lift: Lift of that rule (> 1: the categories co-occur more than chance).
        antecedent: Left side of that rule.
        consequent: Right side of that rule.
    """

    categories: tuple[str, ...]
    support: float
    count: int
    confidence: float
    lift: float
    antecedent: tuple[str, ...]
    consequent: tuple[str, ...]

    @property
    def is_repeat(self) -> bool:
        """True for a same-category pattern ("several X are bundled together")."""
        return len(set(self.categories)) == 1

    @property
    def text(self) -> str:
        """The pattern as one sentence, the form it takes in a prompt or a knowledge base."""
        numbers = f"(support {_fraction(self.support)}, confidence {self.confidence:.2f})"
        if self.is_repeat:
            return f"Several {self.categories[0]} items are often bundled together {numbers}"
        return f"{' + '.join(self.categories)} are often bundled {numbers}"

    def stats(self) -> dict[str, Any]:
        """Numbers for `KnowledgeItem.stats`."""
        return {
            "categories": list(self.categories),
            "support": round(self.support, 6),
            "count": self.count,
            "confidence": round(self.confidence, 6),
            "lift": round(self.lift, 6),
            "antecedent": list(self.antecedent),
            "consequent": list(self.consequent),
        }


def _fraction(value: float) -> str:
    # Two decimals as in the KD paper's examples; small supports keep a significant digit.
    return f"{value:.2f}" if value >= 0.01 or value == 0 else f"{value:.3f}"


def check_level(level: str) -> str:
    """Validate a granularity: ``leaf`` or ``depth-K`` (the first K names of the path)."""
    if level != "leaf" and not _DEPTH.match(level):
        raise ConfigError(f"category level must be 'leaf' or 'depth-K' (K >= 1), got {level!r}")
    return level


def category_label(
    categories: Sequence[Sequence[str]] | None, level: str = DEFAULT_LEVEL
) -> str | None:
    """The label of an item at a granularity, from its first category path.

    Args:
        categories: Category paths, root first (as in `Item.categories`).
        level: ``leaf`` (the path's last name) or ``depth-K`` (the name at depth K, or the leaf
            when the path is shorter).

    Returns:
        The label, or None when the item has no (non-empty) path.
    """
    check_level(level)
    path = next((p for p in categories or () if p), None)
    if path is None:
        return None
    if level == "leaf":
        return path[-1]
    depth = int(level.split("-")[1])
    return path[min(depth, len(path)) - 1]


def _refuse_test(sessions: Sequence[Session]) -> None:
    """Test categories and bundles are labels: never mined, even forced. Sessions without a
    split were refused (or forced and recorded) where they came in (`distill`)."""
    check_sessions(sessions, use="pattern mining", force_unknown=True, can_force=False)


def bundle_transactions(
    sessions: Iterable[Session], level: str = DEFAULT_LEVEL
) -> list[frozenset[str]]:
    """One transaction (set of category labels) per GT bundle of the given sessions.

    Items without categories are skipped; a bundle with no labelled item gives no transaction.

    Raises:
        LeakageError: When a test session is passed (its categories and bundles are labels).
    """
    check_level(level)
    sessions = list(sessions)
    _refuse_test(sessions)
    transactions = []
    for session in sessions:
        by_id = {item.item_id: item for item in session.items}
        for bundle in session.bundles or ():
            labels = {
                label
                for i in bundle.items
                if (label := category_label(by_id[i].categories, level)) is not None
            }
            if labels:
                transactions.append(frozenset(labels))
    return transactions


def mine_patterns(
    transactions: Sequence[frozenset[str]],
    *,
    min_support: float = DEFAULT_MIN_SUPPORT,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    max_len: int = DEFAULT_MAX_LEN,
    algorithm: str = "fpgrowth",
) -> list[FrequentPattern]:
    """Frequent itemsets (size >= 2) whose strongest rule reaches `min_confidence`.

    Args:
        transactions: Category sets, one per training bundle.
        min_support: Minimum fraction of transactions that contain the itemset.
        min_confidence: Minimum confidence of the itemset's strongest rule.
        max_len: Longest itemset to mine.
        algorithm: ``fpgrowth`` (fast) or ``apriori``; both give the same itemsets.

    Returns:
        Patterns sorted by support, confidence, then categories (deterministic).
    """
    if not 0 < min_support <= 1:
        raise ConfigError(f"min_support must be in (0, 1], got {min_support}")
    if not 0 <= min_confidence <= 1:
        raise ConfigError(f"min_confidence must be in [0, 1], got {min_confidence}")
    if algorithm not in ("fpgrowth", "apriori"):
        raise ConfigError(f"algorithm must be 'fpgrowth' or 'apriori', got {algorithm!r}")
    if max_len < 2 or not any(len(t) >= 2 for t in transactions):
        return []

    import pandas as pd
    from mlxtend.frequent_patterns import apriori, association_rules, fpgrowth

    labels = sorted(set().union(*transactions))
    column = {label: index for index, label in enumerate(labels)}
    matrix = [[False] * len(labels) for _ in transactions]
    for row, transaction in zip(matrix, transactions, strict=True):
        for label in transaction:
            row[column[label]] = True
    frame = pd.DataFrame(matrix, columns=labels)
    miner = fpgrowth if algorithm == "fpgrowth" else apriori
    itemsets = miner(frame, min_support=min_support, use_colnames=True, max_len=max_len)
    if not (itemsets["itemsets"].map(len) >= 2).any():
        return []
    rules = association_rules(
        itemsets, num_itemsets=len(transactions), metric="confidence", min_threshold=0.0
    )
    best: dict[frozenset[str], FrequentPattern] = {}
    for rule in rules.itertuples(index=False):
        antecedent = tuple(sorted(rule.antecedents))
        consequent = tuple(sorted(rule.consequents))
        key = frozenset(antecedent + consequent)
        candidate = FrequentPattern(
            categories=tuple(sorted(key)),
            support=float(rule.support),
            count=round(float(rule.support) * len(transactions)),
            confidence=float(rule.confidence),
            lift=float(rule.lift),
            antecedent=antecedent,
            consequent=consequent,
        )
        current = best.get(key)
        if current is None or _rule_order(candidate) < _rule_order(current):
            best[key] = candidate
    patterns = [p for p in best.values() if p.confidence >= min_confidence]
    patterns.sort(key=_pattern_order)
    logger.info(
        "mined %d patterns from %d transactions (min_support=%s, min_confidence=%s)",
        len(patterns),
        len(transactions),
        min_support,
        min_confidence,
    )
    return patterns


def _pattern_order(pattern: FrequentPattern) -> tuple[int, float, tuple[str, ...]]:
    # Best-supported first (a 2-of-2 rule with confidence 1 is weak evidence), then confidence.
    # The integer count, not the float support, so equal supports always tie exactly.
    return (-pattern.count, -pattern.confidence, pattern.categories)


def _rule_order(pattern: FrequentPattern) -> tuple[float, float, tuple[str, ...], tuple[str, ...]]:
    # Smallest wins: highest confidence, then highest lift, then a fixed order of the sides.
    return (-pattern.confidence, -pattern.lift, pattern.antecedent, pattern.consequent)


def mine_repeat_patterns(
    sessions: Iterable[Session],
    *,
    level: str = DEFAULT_LEVEL,
    min_support: float = DEFAULT_MIN_SUPPORT,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> list[FrequentPattern]:
    """Same-category patterns: "a bundle with an X item often has another X item".

    Set transactions cannot express this, yet about a third of the item pairs inside AICL
    training bundles share their leaf category (several memory cards, several teas). Counting
    the bundles as multisets gives the rule X -> another X: support = bundles with >= 2 X items /
    all bundles; confidence = those bundles / bundles with an X item; lift = confidence /
    support(X).

    Raises:
        LeakageError: When a test session is passed.
    """
    check_level(level)
    sessions = list(sessions)
    _refuse_test(sessions)
    n_bundles = 0
    with_label: dict[str, int] = {}
    repeated: dict[str, int] = {}
    for session in sessions:
        by_id = {item.item_id: item for item in session.items}
        for bundle in session.bundles or ():
            labels = [category_label(by_id[i].categories, level) for i in bundle.items]
            known = [label for label in labels if label is not None]
            if not known:
                continue
            n_bundles += 1
            for label in set(known):
                with_label[label] = with_label.get(label, 0) + 1
                if known.count(label) >= 2:
                    repeated[label] = repeated.get(label, 0) + 1
    patterns = []
    for label, count in repeated.items():
        support = count / n_bundles
        confidence = count / with_label[label]
        if support >= min_support and confidence >= min_confidence:
            patterns.append(
                FrequentPattern(
                    categories=(label, label),
                    support=support,
                    count=count,
                    confidence=confidence,
                    lift=confidence / (with_label[label] / n_bundles),
                    antecedent=(label,),
                    consequent=(label,),
                )
            )
    patterns.sort(key=_pattern_order)
    return patterns


def mine_session_patterns(
    sessions: Iterable[Session],
    *,
    level: str = DEFAULT_LEVEL,
    min_support: float = DEFAULT_MIN_SUPPORT,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    max_len: int = DEFAULT_MAX_LEN,
    algorithm: str = "fpgrowth",
    repeats: bool = True,
) -> list[FrequentPattern]:
    """All patterns of training sessions' GT bundles: cross-category itemsets and rules
    (`mine_patterns` over `bundle_transactions`) plus, with `repeats`, same-category patterns
    (`mine_repeat_patterns`). Sorted by support, confidence, then categories."""
    sessions = list(sessions)
    patterns = mine_patterns(
        bundle_transactions(sessions, level),
        min_support=min_support,
        min_confidence=min_confidence,
        max_len=max_len,
        algorithm=algorithm,
    )
    if repeats:
        patterns += mine_repeat_patterns(
            sessions, level=level, min_support=min_support, min_confidence=min_confidence
        )
    patterns.sort(key=_pattern_order)
    return patterns
