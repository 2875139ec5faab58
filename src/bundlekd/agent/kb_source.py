"""Adapts a knowledge base to the student's `KnowledgeSource` protocol.

Queries are built from the session's public view (titles only): raw categories exist only for
bundled items, so reading them would leak the labels (DESIGN.md §2).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from bundlekd.agent.prompting import KnowledgeSnippet
from bundlekd.data.schema import Session
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.retrieval.retriever import query_from_titles

logger = logging.getLogger(__name__)


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
        self.requested: tuple[str, ...] = tuple(kinds)
        self.missing: tuple[str, ...] = tuple(k for k in kinds if k not in present)
        self.kinds: tuple[str, ...] = tuple(k for k in kinds if k in present) or tuple(kinds)
        if self.missing:
            # Missing kinds' quota goes to the kinds present, so only a KB with none of them
            # changes a result (ICL becomes few-shot); the run's warnings say that once, and
            # the manifest records the missing kinds either way.
            logger.info(
                "%s holds no active %s knowledge%s",
                kb.kb_dir,
                "/".join(self.missing),
                "; the prompts get no knowledge at all" if self.has_none else "",
            )
        self.same_domain = same_domain
        self.mmr_lambda = mmr_lambda
        self.token_budget = token_budget

    @property
    def has_none(self) -> bool:
        """The KB holds none of the requested kinds: retrieval can only come back empty."""
        return len(self.missing) == len(self.requested)

    def describe(self) -> dict[str, Any]:
        """For run manifests: the KB, the kinds asked for and missing, forced provenance."""
        return {
            **self.kb.describe(),
            "kinds_requested": list(self.requested),
            "kinds_missing": list(self.missing),
            "no_knowledge": self.has_none,
            **self.kb.provenance(),
        }

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
