"""The service's knowledge endpoints: search (a read) and incremental add (a write).

Reads use the read-only KB the runtime opened (it never writes a file). Writes open the KB
for writing on the first `POST /v1/knowledge` and go through `KnowledgeBase.add`, which holds
the KB's own inter-process lock for the whole read-modify-write: two services (or a service
and `bundlekd kb add`) on one KB never lose each other's items. A write is acknowledged only
after knowledge.jsonl was atomically replaced and fsynced.

After a write the service reloads its knowledge (`live.LiveKnowledge`) before it answers, so
the next request uses it: a labelled session (`POST /v1/feedback`) enters the grouping tool's
item memory, and that session is answered with its label from then on. The pair scorer's
weights and the val-chosen settings change only with `bundlekd kb refit-tool`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bundlekd.app.service.schemas import (
    FeedbackRequest,
    FeedbackResponse,
    KnowledgeIn,
    KnowledgeResponse,
    SearchHit,
)
from bundlekd.errors import ConfigError, DataError

if TYPE_CHECKING:
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.knowledge_base.store.items import KnowledgeItem

logger = logging.getLogger(__name__)


def to_items(rows: Sequence[KnowledgeIn]) -> list[KnowledgeItem]:
    """Request rows as KB items (content ids computed).

    Raises:
        DataError: a row the KB's own validation refuses; names `items[n]` and the field.
    """
    from pydantic import ValidationError

    from bundlekd.knowledge_base.store.items import KnowledgeItem, row_error

    items = []
    for n, row in enumerate(rows):
        try:
            items.append(KnowledgeItem.new(**row.model_dump()))
        except ValidationError as exc:
            raise DataError(f"items[{n}]: {row_error(exc)}") from None
    return items


class KnowledgeService:
    """Search and add over one KB folder (blocking methods: call them from a worker thread)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        chroma_url: str | None = None,
        go_live: Callable[[], bool] | None = None,
    ) -> None:
        self._read = kb
        self._chroma_url = chroma_url
        #: after a write: brings the answers up to date; True when they use the KB as it is
        self._go_live = go_live
        self._stamp = self._knowledge_stamp()
        self._writer: KnowledgeBase | None = None
        self._lock = threading.Lock()  # guards the two KB objects, not the files

    def _knowledge_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._read.store.knowledge_path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _reader(self) -> KnowledgeBase:
        """The read-only KB; reopened (read-only) after knowledge.jsonl changed when it was
        searching an in-memory copy, which would not see new items otherwise."""
        from bundlekd.knowledge_base.kb import KnowledgeBase, MemoryIndex

        with self._lock:
            stamp = self._knowledge_stamp()
            if stamp != self._stamp and isinstance(self._read.index, MemoryIndex):
                self._read = KnowledgeBase.open(
                    self._read.kb_dir, self._read.embedder, read_only=True
                )
            self._stamp = stamp
            return self._read

    def search(
        self, query: str, k: int, kind: str | None = None, domain: str | None = None
    ) -> list[SearchHit]:
        kb = self._reader()
        hits = kb.search(query, k, kinds=[kind] if kind else None, domain=domain or None)
        return [
            SearchHit(id=item.id, kind=item.kind, domain=item.domain, text=item.text, score=score)
            for item, score in hits
        ]

    def count(self) -> int:
        return len(self._reader().items())

    def _writer_kb(self) -> KnowledgeBase:
        from bundlekd.knowledge_base.kb import KnowledgeBase

        with self._lock:
            if self._writer is None:
                index = self._read.store.settings.get("index_backend")
                if index is None:
                    raise ConfigError(f"{self._read.kb_dir}: the KB records no index backend")
                self._writer = KnowledgeBase.open(
                    self._read.kb_dir, self._read.embedder, index, self._chroma_url
                )
            return self._writer

    def _live(self) -> bool:
        return self._go_live() if self._go_live is not None else False

    def add(self, rows: Sequence[KnowledgeIn]) -> KnowledgeResponse:
        """Add items under the KB's lock; returns what happened, per input id.

        Raises:
            LeakageError: an item from the test split or without a known split.
            KnowledgeBaseError: the KB cannot be written.
        """
        items = to_items(rows)
        writer = self._writer_kb()
        result = writer.add(items)
        ids = [result.merged_into.get(item.id, item.id) for item in items]
        return KnowledgeResponse(
            added=result.added,
            merged=result.merged,
            unchanged=result.unchanged,
            ids=ids,
            last_seq=writer.store.last_seq(),
            live=self._live(),
            warnings=[
                f"items[{n}]: an exemplar without the titles of its bundle is searchable, but "
                "the grouping tool cannot use it; POST the labelled session to /v1/feedback"
                for n, row in enumerate(rows)
                if row.kind == "exemplar"
            ],
        )

    def feedback(self, request: FeedbackRequest) -> FeedbackResponse:
        """Make the request's bundles its session's exemplars (`KnowledgeBase.relabel`), then
        bring the answers up to date before acknowledging.

        Raises:
            LeakageError: a known source's test session.
            KnowledgeBaseError: the KB cannot be written.
        """
        from bundlekd.knowledge_base.distill.labelled import Provenance

        session = request.to_session()
        writer = self._writer_kb()
        result = writer.relabel(session, Provenance("api", request.author))
        return FeedbackResponse(
            session_id=session.session_id,
            domain=session.domain,
            **result.counts(),
            ids=result.ids,
            last_seq=writer.store.last_seq(),
            live=self._live(),
        )
