"""Frequent patterns as knowledge candidates: a thin adapter over `distill.patterns`.

Patterns are mined per domain (category names of different domains do not mix) from the GT
bundles of the given training sessions; each becomes a `KnowledgeItem(kind="pattern",
teacher="apriori")` whose provenance lists the sessions with a bundle that contains the pattern.
"""

from __future__ import annotations

from collections.abc import Sequence

from bundlekd.data.leakage import split_label
from bundlekd.data.schema import Session
from bundlekd.knowledge_base.distill.patterns import (
    DEFAULT_LEVEL,
    DEFAULT_MAX_LEN,
    DEFAULT_MIN_CONFIDENCE,
    DEFAULT_MIN_SUPPORT,
    FrequentPattern,
    bundle_transactions,
    mine_patterns,
)
from bundlekd.knowledge_base.store.items import KnowledgeItem

PATTERN_TEACHER = "apriori"


def pattern_items(
    sessions: Sequence[Session],
    *,
    level: str = DEFAULT_LEVEL,
    min_support: float = DEFAULT_MIN_SUPPORT,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    max_len: int = DEFAULT_MAX_LEN,
) -> list[KnowledgeItem]:
    """Mine each domain's sessions and turn the patterns into knowledge candidates.

    Raises:
        LeakageError: a test session was passed (raised by `bundle_transactions`).
    """
    by_domain: dict[str, list[Session]] = {}
    for session in sessions:
        by_domain.setdefault(session.domain, []).append(session)
    items: list[KnowledgeItem] = []
    for domain in sorted(by_domain):
        members = by_domain[domain]
        per_session = [(s, bundle_transactions([s], level)) for s in members]
        transactions = [t for _, ts in per_session for t in ts]
        patterns = mine_patterns(
            transactions, min_support=min_support, min_confidence=min_confidence, max_len=max_len
        )
        for pattern in patterns:
            items.append(_to_item(pattern, domain, per_session, level, min_support))
    return items


def _to_item(
    pattern: FrequentPattern,
    domain: str,
    per_session: list[tuple[Session, list[frozenset[str]]]],
    level: str,
    min_support: float,
) -> KnowledgeItem:
    wanted = frozenset(pattern.categories)
    sources = [s for s, transactions in per_session if any(wanted <= t for t in transactions)]
    return KnowledgeItem.new(
        "pattern",
        pattern.text,
        domain,
        source_session_ids=[s.session_id for s in sources],
        source_splits=[split_label(s) for s in sources],
        teacher=PATTERN_TEACHER,
        # Patterns have no prompt; the mining settings play that role in provenance.
        prompt_version=f"apriori:{level}:min_support={min_support}",
        stats=pattern.stats(),
    )
