"""KnowledgeBase: one object over a KB directory (store + vector index + embedder).

    kb = KnowledgeBase.create("kb/", embedder=get_embedder("minilm"))        # or .open(...)
    kb.add([KnowledgeItem.new("rule", "Phone cases go with screen protectors.", "electronic")])
    kb.search("iPhone 15 case\\nTempered glass", k=3)

The index is a cache: `open` rebuilds it when it is missing, corrupt, or was built by another
embedder, and otherwise embeds only the items it lacks.

`open(..., read_only=True)` is what reads use (search, stats, generate, chat): it never writes
a file. It refuses an embedder or index backend other than the recorded ones (using them would
mean re-embedding and rewriting the index), and when the saved index is missing, corrupt or
behind knowledge.jsonl it searches an in-memory copy instead of repairing the files.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bundlekd.data.schema import Session
from bundlekd.errors import ConfigError, DataError, KnowledgeBaseError
from bundlekd.files import iter_jsonl
from bundlekd.knowledge_base.distill.labelled import Provenance, labelled_exemplars
from bundlekd.knowledge_base.grouping.memory import DomainMemory, MemorySession, memory_sessions
from bundlekd.knowledge_base.grouping.recall import LabelledSessions
from bundlekd.knowledge_base.grouping.scorers import scorer_from_json
from bundlekd.knowledge_base.grouping.tool import GroupingTool, tool_path
from bundlekd.knowledge_base.grouping.tool_file import knowledge_drift, load_tool_file
from bundlekd.knowledge_base.index.base import NumpyIndex, VectorIndex
from bundlekd.knowledge_base.retrieval.item_memory import ItemMemory
from bundlekd.knowledge_base.retrieval.retriever import Retriever, Scored
from bundlekd.knowledge_base.store.items import KnowledgeItem, labelled_by, row_error
from bundlekd.knowledge_base.store.knowledge_store import (
    KNOWLEDGE_FILE,
    ItemDiff,
    KnowledgeStore,
    count_items,
    diff_items,
    knowledge_provenance,
    read_items,
)
from bundlekd.knowledge_base.store.relabel import RelabelResult, relabel_session
from bundlekd.knowledge_base.store.state import knowledge_hash
from bundlekd.knowledge_base.store.update import (
    DEFAULT_MERGE_THRESHOLD,
    Progress,
    UpdateResult,
    add_items,
    deferred_kinds,
    index_in_sync,
    refresh_and_sync,
    remove_items,
    supersede,
    sync_index,
)
from bundlekd.llm.embeddings import Embedder, get_embedder

logger = logging.getLogger(__name__)

INDEX_BACKENDS = ("faiss", "chroma", "numpy")
_DRIFT_WARNED: set[str] = set()  # KB folders whose stale tool was warned about
_MEMORIES: dict[str, DomainMemory] = {}  # built domain memories by their content (a few)
_MEMORIES_KEPT = 6


def _domain_memory(sessions: list[MemorySession], embedder: Embedder) -> DomainMemory:
    """`DomainMemory(sessions, embedder)`, reused when the same sessions were built before."""
    import hashlib

    content = [
        (s.domain, s.session_id, s.titles, sorted(map(sorted, s.bundles)), s.categories)
        for s in sessions
    ]
    key = hashlib.sha256(repr((embedder.model_id, content)).encode()).hexdigest()
    found = _MEMORIES.pop(key, None)  # least recently used first: re-insert at the end
    if found is None:
        found = DomainMemory(sessions, embedder)
        while len(_MEMORIES) >= _MEMORIES_KEPT:
            _MEMORIES.pop(next(iter(_MEMORIES)))
    _MEMORIES[key] = found
    return found


class MemoryIndex(NumpyIndex):
    """A brute-force index that lives in memory only: what a read searches when the saved
    index cannot be used as it is (a read never writes)."""

    backend = "memory"

    def save(self) -> None:
        """Nothing: reads never write."""

    def load(self) -> bool:
        return False

    def refresh(self) -> None:
        """Nothing to pick up: the vectors were embedded by this process."""


def make_index(kb_dir: Path, backend: str, chroma_url: str | None = None) -> VectorIndex:
    """The index object for a KB directory (nothing is loaded yet)."""
    if backend not in INDEX_BACKENDS:
        raise ConfigError(f"unknown index backend {backend!r}; expected one of {INDEX_BACKENDS}")
    if backend == "chroma":
        from bundlekd.files import canonical_hash
        from bundlekd.knowledge_base.index.chroma_index import ChromaIndex

        if chroma_url is None:
            return ChromaIndex(kb_dir / "index" / "chroma")
        # One server can hold many KBs: name the collection after this KB's location.
        name = f"bundlekd-{canonical_hash(str(kb_dir.resolve()), 12)}"
        return ChromaIndex(url=chroma_url, collection_name=name)
    if backend == "faiss":
        if importlib.util.find_spec("faiss") is not None:
            from bundlekd.knowledge_base.index.faiss_index import FaissIndex

            return FaissIndex(kb_dir / "index" / "faiss")
        logger.warning("faiss-cpu is not installed: using the brute-force numpy index")
    return NumpyIndex(kb_dir / "index" / "numpy")


def read_candidates(path: str | Path) -> list[KnowledgeItem]:
    """Items to add from a JSONL: {kind, text, domain, ...provenance} rows or full KB rows.

    Every field is validated (`KnowledgeItem`, `stats` included), so a bad row is refused here
    naming ``file:line`` and the field, before anything is written.
    """
    items = []
    for line_no, row in iter_jsonl(path):
        try:
            item = KnowledgeItem.model_validate(row) if "id" in row else KnowledgeItem.new(**row)
        except ValidationError as exc:
            raise DataError(f"{path}:{line_no}: {row_error(exc)}") from None
        except (TypeError, AttributeError) as exc:  # unknown/missing keyword, wrong type
            raise DataError(f"{path}:{line_no}: {exc}") from None
        if item.status == "active":
            items.append(item)
    return items


def _in_sync(index: VectorIndex, items: Iterable[KnowledgeItem], embedder: Embedder) -> bool:
    """Whether the saved index can serve reads as it is (loaded, same embedder, the active
    ids but deferred ones: `store.update.index_in_sync`)."""
    try:
        index.refresh()
    except KnowledgeBaseError as exc:
        logger.warning("%s", exc)
        return False
    return index_in_sync(index, items, embedder)


class KnowledgeBase:
    """Facade over KnowledgeStore + VectorIndex + Embedder for one KB directory."""

    def __init__(self, store: KnowledgeStore, index: VectorIndex, embedder: Embedder) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder

    @property
    def kb_dir(self) -> Path:
        return self.store.kb_dir

    @classmethod
    def open(
        cls,
        kb_dir: str | Path,
        embedder: Embedder | str | None = None,
        index: str | None = None,
        chroma_url: str | None = None,
        *,
        create: bool = False,
        progress: Progress | None = None,
        read_only: bool = False,
    ) -> KnowledgeBase:
        """Open a KB (create it if `create`), migrate old rows, and bring the index up to date.

        `embedder`/`index` default to what the manifest records, else MiniLM and faiss. With
        `read_only` nothing is written (see the module docstring).

        Raises:
            KnowledgeBaseError: no KB there (and not `create`); with `read_only`, an embedder
                or index backend other than the recorded one.
        """
        store = KnowledgeStore(kb_dir)
        if not store.exists() and not create:
            raise KnowledgeBaseError(
                f"{kb_dir}: not a knowledge base (no {KNOWLEDGE_FILE}); create one first"
            )
        if read_only:
            return cls._open_read_only(store, embedder, index, chroma_url, progress)
        chosen = get_embedder(
            embedder if embedder is not None else store.settings.get("embedder_id")
        )
        backend = index or store.settings.get("index_backend") or "faiss"
        if chroma_url is not None:
            backend = "chroma"
        vector_index = make_index(store.kb_dir, backend, chroma_url)
        settings = {"embedder_id": chosen.model_id, "index_backend": vector_index.backend}
        with store.locked():
            if (
                not store.exists()
                or not store.manifest_path.exists()
                or any(store.settings.get(k) != v for k, v in settings.items())
            ):
                store.init(**settings)  # also repairs a missing manifest (P9)
            store.recover()
            store.migrate()
            kb = cls(store, vector_index, chosen)
            refresh_and_sync(vector_index, store.load().values(), chosen, progress=progress)
        return kb

    @classmethod
    def _open_read_only(
        cls,
        store: KnowledgeStore,
        embedder: Embedder | str | None,
        index: str | None,
        chroma_url: str | None,
        progress: Progress | None,
    ) -> KnowledgeBase:
        recorded_embedder = store.settings.get("embedder_id")
        chosen = get_embedder(embedder if embedder is not None else recorded_embedder)
        if recorded_embedder and chosen.model_id != recorded_embedder:
            raise KnowledgeBaseError(
                f"{store.kb_dir}: its vectors were made by embedder {recorded_embedder!r}, not "
                f"{chosen.model_id!r}; a read does not re-embed a knowledge base: leave out "
                f"--embedder, or re-embed it with `bundlekd kb rebuild {store.kb_dir} "
                "--embedder ...`"
            )
        recorded_backend = store.settings.get("index_backend")
        backend = "chroma" if chroma_url is not None else index or recorded_backend or "faiss"
        if recorded_backend and backend != recorded_backend:
            raise KnowledgeBaseError(
                f"{store.kb_dir}: its index is {recorded_backend!r}, not {backend!r}; a read does "
                f"not build another index: leave out --index, or `bundlekd kb rebuild "
                f"{store.kb_dir} --index {backend}`"
            )
        if store.unlogged_change() is not None:
            logger.warning(
                "%s: an interrupted update left a change that history.jsonl does not list; "
                "the next write (or `bundlekd kb history`) records it",
                store.kb_dir,
            )
        items = store.load().values()
        saved = make_index(store.kb_dir, backend, chroma_url)
        if _in_sync(saved, items, chosen):
            return cls(store, saved, chosen)
        logger.warning(
            "%s: the saved %s index is missing or behind knowledge.jsonl; searching an in-memory "
            "copy (`bundlekd kb rebuild %s` saves one)",
            store.kb_dir,
            backend,
            store.kb_dir,
        )
        memory = MemoryIndex(store.kb_dir / "index" / "memory")
        sync_index(memory, items, chosen, progress=progress)
        return cls(store, memory, chosen)

    @classmethod
    def create(cls, kb_dir: str | Path, **kwargs: Any) -> KnowledgeBase:
        """Create (or open, if it exists) a KB directory."""
        return cls.open(kb_dir, create=True, **kwargs)

    # --- changes -------------------------------------------------------------------------
    def add(
        self,
        candidates: Iterable[KnowledgeItem],
        merge_threshold: float | None = DEFAULT_MERGE_THRESHOLD,
        progress: Progress | None = None,
        force: bool = False,
    ) -> UpdateResult:
        """`store.update.add_items`: rows from the test split or without a known split are
        refused unless `force`."""
        return add_items(
            self.store,
            self.index,
            self.embedder,
            candidates,
            merge_threshold,
            progress=progress,
            force=force,
        )

    def relabel(
        self, session: Session, provenance: Provenance, *, force: bool = False
    ) -> RelabelResult:
        """Make `session`'s bundles its exemplars (`store.relabel`), recording who labelled
        it; one history entry, undone by one `rollback`.

        Raises:
            LeakageError: a test or val session, or a known source's test session.
            DataError: a session without bundles.
        """
        items = labelled_exemplars(session, provenance)
        return relabel_session(
            self.store,
            self.index,
            self.embedder,
            session.domain,
            session.session_id,
            items,
            force=force,
        )

    def remove(self, ids: Iterable[str]) -> list[str]:
        return remove_items(self.store, self.index, ids)

    def supersede(self, old_id: str, new_item: KnowledgeItem) -> KnowledgeItem:
        return supersede(self.store, self.index, self.embedder, old_id, new_item)

    def rollback(self, to: int | None = None) -> int:
        """Restore the state before operation `to` (default: undo the latest); returns it."""
        with self.store.locked():
            target = self.store.rollback(to)
            refresh_and_sync(self.index, self.store.load().values(), self.embedder)
        return target

    def rebuild_index(self, progress: Progress | None = None) -> int:
        """Drop the index and re-embed every active item; returns the number embedded."""
        with self.store.locked():
            self.index.reset(self.embedder.model_id, self.embedder.dim)
            # sync, not refresh_and_sync: a refresh would reload the old files.
            return sync_index(
                self.index,
                self.store.load().values(),
                self.embedder,
                progress=progress,
                defer=False,
            )

    # --- reading -------------------------------------------------------------------------
    def retriever(self) -> Retriever:
        return Retriever(self.store, self.index, self.embedder)

    def search(self, text: str, k: int = 5, **options: Any) -> Scored:
        """`Retriever.retrieve`: text from titles only; options kinds/domain/quotas/mmr_lambda."""
        return self.retriever().retrieve(text, k, **options)

    def item_memory(
        self, embedder: Embedder | None = None, *, write_cache: bool = False
    ) -> ItemMemory:
        """The exemplars indexed per item title (cached under `index/`; reads never write)."""
        return ItemMemory.build(
            self.store.load().values(),
            embedder or self.embedder,
            self.kb_dir / "index",
            write_cache=write_cache,
        )

    def scorer_memories(self, embedder: Embedder) -> dict[str, DomainMemory]:
        """Per domain, the training sessions the exemplars describe, embedded (learned scorer).

        A domain whose sessions are the same as at an earlier build in this process reuses
        that build (read-only): a live service that rebuilds its tool after a label in one
        domain rebuilds only that domain's memory.
        """
        return {
            domain: _domain_memory(sessions, embedder)
            for domain, sessions in memory_sessions(self.store.load().values()).items()
        }

    def grouping_tool(self, embedder: Embedder | None = None) -> GroupingTool:
        """The grouping tool saved with this KB (fitted on train, tuned on val).

        A tool fitted on another knowledge state than the KB's (after `kb add`/`remove`) is
        still loaded, with a warning and `metadata["stale"]` saying so (run manifests and
        warnings carry it); `bundlekd kb refit-tool` re-fits it.

        Raises:
            KnowledgeBaseError: the KB has no tool yet, a damaged tool file (`tool_file`), or
                an embedder other than the one it was fitted with.
        """
        saved = load_tool_file(self.kb_dir)
        chosen = embedder or get_embedder(saved.embedder_id)
        if chosen.model_id != saved.embedder_id:
            raise KnowledgeBaseError(
                f"{self.kb_dir}: the tool was fitted with embedder {saved.embedder_id!r}, "
                f"not {chosen.model_id!r}"
            )
        metadata = dict(saved.metadata)
        drift = knowledge_drift(saved, self.store.load().values())
        if drift is not None:
            # once per KB and process: a live service rebuilds its tool on every label
            warned = str(self.kb_dir) in _DRIFT_WARNED
            logger.log(logging.INFO if warned else logging.WARNING, "%s", drift)
            _DRIFT_WARNED.add(str(self.kb_dir))
            metadata["stale"] = drift
        items = self.item_memory(chosen)
        # The scorer's memories embed through the item memory's title vectors: known titles
        # are never embedded again.
        learned = saved.scorer.get("kind") == "learned"
        memories = self.scorer_memories(items.title_embedder()) if learned else {}
        return GroupingTool(
            chosen,
            items,
            scorer=scorer_from_json(saved.scorer, memories),
            settings=saved.settings,
            default=saved.default,
            metadata=metadata,
            labelled=LabelledSessions.from_items(self.store.load().values()),
        )

    def tool_drift(self) -> str | None:
        """Why the saved grouping tool does not match this KB's knowledge now (None: it does,
        or there is no tool); a damaged tool file says what is wrong with it."""
        if not tool_path(self.kb_dir).is_file():
            return None
        try:
            saved = load_tool_file(self.kb_dir)
        except KnowledgeBaseError as exc:
            return str(exc)
        return knowledge_drift(saved, self.store.load().values())

    def knowledge_hash(self) -> str:
        """The hash of the active knowledge state (`store.state.knowledge_hash`)."""
        return knowledge_hash(self.store.load().values())

    def items(self, **filters: Any) -> list[KnowledgeItem]:
        return self.store.items(**filters)

    def get(self, item_id: str) -> KnowledgeItem | None:
        return self.store.get(item_id)

    def history(self) -> list[dict[str, Any]]:
        return self.store.history()

    def stats(self) -> dict[str, Any]:
        """Counts (by kind, status, domain, source split) plus embedder, index and history."""
        history = self.store.history()
        items = self.store.load().values()
        labelled = {
            (i.domain, s)
            for i in items
            if i.status == "active" and labelled_by(i) is not None
            for s in i.source_session_ids
        }
        return {
            "kb_dir": str(self.kb_dir),
            **count_items(items),
            "labelled_sessions": len(labelled),
            "embedder_id": self.embedder.model_id,
            "index_backend": self.index.backend,
            "indexed": len(self.index),
            # active items of the deferred kinds the saved index lacks: embedded on first search
            "deferred": len(
                {
                    i.id
                    for i in items
                    if i.status == "active" and i.kind in deferred_kinds(self.index)
                }
                - set(self.index.ids())
            ),
            "operations": len(history),
            "snapshots": self.store.snapshots(),
        }

    def provenance(self) -> dict[str, Any]:
        """Active items from the test split or without a known split (`knowledge_provenance`)."""
        return knowledge_provenance(self.store.load().values())

    def describe(self) -> dict[str, Any]:
        """What identifies this KB in a run's manifest: folder, creation time, embedder, and
        the hash of its active knowledge (a KB changed in place is another KB to a resume)."""
        return {
            "kb_dir": str(self.kb_dir.resolve()),
            "kb_created_at": self.store.settings.get("created_at"),
            "kb_embedder": self.embedder.model_id,
            "kb_knowledge_hash": self.knowledge_hash(),
        }

    def diff(self, other: KnowledgeBase | str | Path) -> ItemDiff:
        """Ids added, removed and changed going from this KB to `other` (KB, dir or JSONL)."""
        if isinstance(other, KnowledgeBase):
            theirs = other.store.load()
        else:
            path = Path(other)
            theirs = read_items(path / KNOWLEDGE_FILE if path.is_dir() else path)
        return diff_items(self.store.load(), theirs)
