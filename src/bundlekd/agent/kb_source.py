"""Adapts a knowledge base to the student's `KnowledgeSource` protocol.

Queries are built from the session's public view (titles only): raw categories exist only for
bundled items, so reading them would leak the labels (DESIGN.md §2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bundlekd.agent.prompting import KnowledgeSnippet
from bundlekd.data.schema import Session
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.retrieval.retriever import query_from_titles


class KBKnowledgeSource:
    """Top-k knowledge per session: per-kind quotas, MMR diversity, a token budget.

    Args:
        kb: An open knowledge base.
        kinds: Knowledge kinds to draw from.
        same_domain: Only items of the session's domain (False = pooled multi-domain KB).
        mmr_lambda: Relevance/diversity trade-off; None disables MMR.
        token_budget: Approximate tokens of knowledge per prompt.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        kinds: Sequence[str] = ("pattern", "rule", "thought"),
        same_domain: bool = True,
        mmr_lambda: float | None = 0.7,
        token_budget: int | None = 300,
    ) -> None:
        self.kb = kb
        # Only kinds the KB holds share the quota: a weak teacher may leave rules or thoughts
        # empty, and their share should go to the kinds that exist.
        present = {item.kind for item in kb.items(status="active")}
        self.kinds: tuple[str, ...] = tuple(k for k in kinds if k in present) or tuple(kinds)
        self.same_domain = same_domain
        self.mmr_lambda = mmr_lambda
        self.token_budget = token_budget

    def _quotas(self, k: int) -> dict[str, int] | None:
        # An even split keeps one kind (usually the many short patterns) from crowding out the rest.
        if len(self.kinds) <= 1:
            return None
        share = max(1, math.ceil(k / len(self.kinds)))
        return {kind: share for kind in self.kinds}

    def lookup(self, session: Session, k: int) -> list[KnowledgeSnippet]:
        if k <= 0:
            return []
        public = session.public()
        scored = self.kb.search(
            query_from_titles(public.titles),
            k,
            kinds=list(self.kinds),
            domain=public.domain if self.same_domain else None,
            quotas=self._quotas(k),
            mmr_lambda=self.mmr_lambda,
            token_budget=self.token_budget,
        )
        return [KnowledgeSnippet(id=item.id, kind=item.kind, text=item.text) for item, _ in scored]
