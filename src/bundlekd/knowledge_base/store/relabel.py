"""Relabel one session: its exemplars become the ones given, in one undoable operation.

A correction (from chat, the service or a file) says "this session's bundles are these". The
session's exemplars already in the KB (its training bundles, or an earlier correction) are
superseded by the new ones, so the item memory never holds two answers for one session; new
exemplars identical to superseded ones are restored rather than added twice. The whole change
is one store transaction (op ``feedback``): one history entry, one `kb rollback` undoes it,
and re-sending the same correction changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bundlekd.errors import KnowledgeBaseError
from bundlekd.knowledge_base.index.base import VectorIndex
from bundlekd.knowledge_base.store.items import KnowledgeItem, labelled_by
from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore
from bundlekd.knowledge_base.store.update import check_candidates, refresh_and_sync, sync_index
from bundlekd.llm.embeddings import Embedder

logger = logging.getLogger(__name__)

RELABEL_OP = "feedback"


@dataclass
class RelabelResult:
    """What a relabel did to the session's exemplars (ids in id order)."""

    domain: str
    session_id: str
    added: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    seq: int | None = None  # the history entry, None when nothing changed

    @property
    def changed(self) -> bool:
        return bool(self.added or self.restored or self.superseded)

    @property
    def ids(self) -> list[str]:
        """The session's active exemplars after the change."""
        return sorted({*self.added, *self.restored, *self.unchanged})

    def counts(self) -> dict[str, int]:
        keys = ("added", "restored", "unchanged", "superseded")
        return {k: len(getattr(self, k)) for k in keys}


def session_exemplars(
    items: dict[str, KnowledgeItem], domain: str, session_id: str
) -> list[KnowledgeItem]:
    """The active exemplars that describe this session (ordered by id)."""
    return sorted(
        (
            i
            for i in items.values()
            if i.kind == "exemplar"
            and i.status == "active"
            and i.domain == domain
            and session_id in i.source_session_ids
        ),
        key=lambda i: i.id,
    )


def relabel_session(
    store: KnowledgeStore,
    index: VectorIndex,
    embedder: Embedder,
    domain: str,
    session_id: str,
    new_items: Sequence[KnowledgeItem],
    *,
    force: bool = False,
) -> RelabelResult:
    """Make `new_items` the active exemplars of (domain, session_id).

    Raises:
        KnowledgeBaseError: an item that is not an exemplar of this session; the KB cannot be
            written.
        LeakageError: an item the KB's guard refuses (test split, a known test session).
    """
    for item in new_items:
        if (
            item.kind != "exemplar"
            or item.domain != domain
            or item.source_session_ids != (session_id,)
        ):
            raise KnowledgeBaseError(
                f"item {item.id}: not an exemplar of session {domain}/{session_id}"
            )
    check_candidates(new_items, force)
    result = RelabelResult(domain, session_id)
    wanted = {item.id: item for item in new_items}
    with store.transaction(RELABEL_OP) as tx:
        refresh_and_sync(index, tx.items.values(), embedder)
        replacement = min(wanted) if wanted else None
        for old in session_exemplars(tx.items, domain, session_id):
            if old.id in wanted:
                continue
            if replacement is None:
                tx.put(old.replace(status="removed", superseded_by=None), "remove")
            else:
                superseded = old.replace(status="superseded", superseded_by=replacement)
                tx.put(superseded, "supersede", superseded_by=replacement)
            result.superseded.append(old.id)
        for item_id in sorted(wanted):
            existing = tx.items.get(item_id)
            if existing is None:
                tx.put(wanted[item_id], "add")
                result.added.append(item_id)
            elif existing.status != "active":
                tx.put(wanted[item_id].replace(created_at=existing.created_at), "restore")
                result.restored.append(item_id)
            elif session_id in existing.source_session_ids:
                result.unchanged.append(item_id)
            else:  # labelled exemplars name their session in the text: not one of those
                raise KnowledgeBaseError(
                    f"item {item_id} is another session's exemplar ({existing.source_session_ids})"
                )
        if tx.changed:
            sync_index(index, tx.items.values(), embedder)
            result.seq = max([store.last_seq(), *store.snapshots()]) + 1  # what commit takes
        who = next((labelled_by(i) for i in new_items), None)
        by = f"{who.get('author')} ({who.get('source')})" if who is not None else None
        counts = {k: n for k, n in result.counts().items() if n}  # a readable `kb history`
        tx.summary = {"session": f"{domain}/{session_id}", **({"by": by} if by else {}), **counts}
    logger.info("kb feedback %s/%s: %s", domain, session_id, result.counts())
    return result
