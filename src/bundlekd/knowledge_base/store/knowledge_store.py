"""KnowledgeStore: `knowledge.jsonl` (the truth), `history.jsonl`, snapshots and `manifest.json`.

Layout of a KB directory::

    knowledge.jsonl     one KnowledgeItem per line (source of truth)
    history.jsonl       append-only log, one line per mutating operation
    snapshots/<n>.jsonl knowledge.jsonl as it was *before* operation n (last `keep_snapshots`)
    snapshots/<n>.files.json  the files fitted from it (the grouping tool), as they were (`state`)
    manifest.json       counts, embedder id, index backend, versions; written last (P9)
    index/              the vector index, a rebuildable cache (see index.py)
    .lock               filelock held by every mutating operation

Every mutation runs inside `transaction()`: take the lock, re-read `knowledge.jsonl` (another
process may have written it since we last looked), apply the change, snapshot the old file,
rewrite atomically, append history, rewrite the manifest. So concurrent writers never lose
each other's items.

A crash between the knowledge write and the history append would leave a change no history
line lists, which a later rollback would silently drop. Its trace is a snapshot numbered past
the last logged operation while knowledge.jsonl differs from it: every write (and every
write-mode open) first logs such a change as an operation `recovered` (`recover`), so rollback
undoes it like any other; reads only warn (`unlogged_change`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from pydantic import ValidationError

from bundlekd.data.leakage import NON_TEST_SPLITS, classify
from bundlekd.errors import DataError, KnowledgeBaseError
from bundlekd.files import (
    append_jsonl,
    atomic_write_text,
    file_sha256,
    iter_jsonl,
    read_json,
    write_json,
    write_jsonl,
)
from bundlekd.knowledge_base.store.items import (
    SCHEMA_VERSION,
    KnowledgeItem,
    migrate_row,
    row_error,
    utc_now,
)
from bundlekd.knowledge_base.store.state import (
    knowledge_hash,
    prune_snapshot_files,
    read_snapshot_files,
    restore_files,
    snapshot_files,
)

logger = logging.getLogger(__name__)

KNOWLEDGE_FILE = "knowledge.jsonl"
HISTORY_FILE = "history.jsonl"
MANIFEST_FILE = "manifest.json"
SNAPSHOT_DIR = "snapshots"
LOCK_FILE = ".lock"


def read_items(path: str | Path) -> dict[str, KnowledgeItem]:
    """Parse a knowledge JSONL (migrating old rows); errors name the file, line and field."""
    items: dict[str, KnowledgeItem] = {}
    for line_no, row in iter_jsonl(path):
        where = f"{path}:{line_no}"
        row, _ = migrate_row(row, where)
        try:
            item = KnowledgeItem.model_validate(row)
        except ValidationError as exc:
            raise DataError(f"{where}: {row_error(exc)}") from None
        if item.id in items:
            raise DataError(f"{where}: duplicate id {item.id!r}")
        items[item.id] = item
    return items


@dataclass
class ItemDiff:
    """Ids added, removed and changed going from one item set to another."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_items(old: dict[str, KnowledgeItem], new: dict[str, KnowledgeItem]) -> ItemDiff:
    """Compare two id -> item maps (sorted id lists, so the result is deterministic)."""
    return ItemDiff(
        added=sorted(new.keys() - old.keys()),
        removed=sorted(old.keys() - new.keys()),
        changed=sorted(i for i in old.keys() & new.keys() if old[i] != new[i]),
    )


@dataclass
class Transaction:
    """The mutable view handed out by `KnowledgeStore.transaction`."""

    op: str
    items: dict[str, KnowledgeItem]
    changes: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    changed: bool = False
    #: Versioned files to put back with the knowledge (a rollback), written on commit.
    files: dict[str, str | None] | None = None

    def put(self, item: KnowledgeItem, action: str, **details: Any) -> None:
        """Insert or replace an item and record the change for history.jsonl."""
        self.items[item.id] = item
        self.changes.append({"action": action, "id": item.id, **details})
        self.changed = True

    def replace_all(self, items: dict[str, KnowledgeItem], **details: Any) -> None:
        """Swap the whole item set (rollback); records the per-id diff."""
        diff = diff_items(self.items, items)
        self.items = dict(items)
        self.changes.append({"action": "replace", **diff.__dict__, **details})
        self.changed = True


class KnowledgeStore:
    """File-backed knowledge store rooted at `kb_dir` (see the module docstring for the layout)."""

    def __init__(
        self, kb_dir: str | Path, *, keep_snapshots: int = 20, lock_timeout_s: float = 600.0
    ) -> None:
        self.kb_dir = Path(kb_dir)
        self.keep_snapshots = keep_snapshots
        # One lock object per store: filelock locks are re-entrant per object, so nested
        # `locked()` calls in one process do not deadlock.
        self._lock = FileLock(str(self.kb_dir / LOCK_FILE), timeout=lock_timeout_s)
        self._cache: tuple[tuple[int, int, int], dict[str, KnowledgeItem]] | None = None
        self.settings: dict[str, Any] = {}
        if self.manifest_path.exists():
            manifest = read_json(self.manifest_path)
            self.settings = {
                key: manifest[key]
                for key in ("embedder_id", "index_backend", "created_at")
                if key in manifest
            }

    # --- paths ---------------------------------------------------------------------------
    @property
    def knowledge_path(self) -> Path:
        return self.kb_dir / KNOWLEDGE_FILE

    @property
    def history_path(self) -> Path:
        return self.kb_dir / HISTORY_FILE

    @property
    def manifest_path(self) -> Path:
        return self.kb_dir / MANIFEST_FILE

    @property
    def snapshot_dir(self) -> Path:
        return self.kb_dir / SNAPSHOT_DIR

    def exists(self) -> bool:
        """Whether `kb_dir` holds a knowledge base (a knowledge.jsonl)."""
        return self.knowledge_path.exists()

    # --- reading -------------------------------------------------------------------------
    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.knowledge_path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def load(self) -> dict[str, KnowledgeItem]:
        """All items by id in file order; cached until the file changes on disk."""
        stamp = self._stamp()
        if stamp is None:
            return {}
        if self._cache is None or self._cache[0] != stamp:
            self._cache = (stamp, read_items(self.knowledge_path))
        return dict(self._cache[1])

    def items(
        self, *, status: str | None = "active", kind: str | None = None, domain: str | None = None
    ) -> list[KnowledgeItem]:
        """Items filtered by status (None = any), kind and domain."""
        return [
            item
            for item in self.load().values()
            if (status is None or item.status == status)
            and (kind is None or item.kind == kind)
            and (domain is None or item.domain == domain)
        ]

    def get(self, item_id: str) -> KnowledgeItem | None:
        return self.load().get(item_id)

    def history(self) -> list[dict[str, Any]]:
        """All logged operations, oldest first."""
        if not self.history_path.exists():
            return []
        return [row for _, row in iter_jsonl(self.history_path)]

    def snapshots(self) -> list[int]:
        """Numbers of the kept snapshots, ascending."""
        if not self.snapshot_dir.exists():
            return []
        return sorted(int(p.stem) for p in self.snapshot_dir.glob("*.jsonl") if p.stem.isdigit())

    # --- writing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the KB's inter-process lock (re-entrant within this store object)."""
        self.kb_dir.mkdir(parents=True, exist_ok=True)
        try:
            with self._lock:
                yield
        except Timeout as exc:
            raise KnowledgeBaseError(f"{self.kb_dir}: timed out waiting for {LOCK_FILE}") from exc

    def init(self, **settings: Any) -> None:
        """Create an empty KB (idempotent) and record settings such as embedder_id."""
        with self.locked():
            self.settings.update({k: v for k, v in settings.items() if v is not None})
            self.settings.setdefault("created_at", utc_now())
            if not self.knowledge_path.exists():
                write_jsonl(self.knowledge_path, [])
            self.write_manifest()

    @contextlib.contextmanager
    def transaction(self, op: str) -> Iterator[Transaction]:
        """Lock, log an earlier interrupted change, re-read, let the caller mutate, then commit
        if anything changed."""
        with self.locked():
            self.recover()
            tx = Transaction(op=op, items=self.load())
            yield tx
            if tx.changed:
                self._commit(tx)

    def _commit(self, tx: Transaction) -> None:
        seq = self._next_seq()
        self._write_snapshot(seq)
        write_jsonl(self.knowledge_path, (item.to_row() for item in tx.items.values()))
        stamp = self._stamp()
        if stamp is not None:  # we just wrote it: no need to parse it again
            self._cache = (stamp, dict(tx.items))
        if tx.files is not None:
            restored = restore_files(self.kb_dir, tx.files)
            tx.changes.append({"action": "files", **restored})
        append_jsonl(
            self.history_path,
            {
                "seq": seq,
                "op": tx.op,
                "at": utc_now(),
                "pid": os.getpid(),
                "snapshot": seq,
                "summary": tx.summary,
                "changes": tx.changes,
            },
        )
        self.write_manifest()
        logger.info(
            "kb %s: %s committed as #%d (%d changes)", self.kb_dir, tx.op, seq, len(tx.changes)
        )

    def unlogged_change(self) -> int | None:
        """The number of an operation that rewrote knowledge.jsonl but was interrupted before
        history.jsonl logged it; None when there is none (reads only)."""
        last = self.last_seq()
        orphans = [n for n in self.snapshots() if n > last]
        if not orphans:
            return None
        seq = max(orphans)
        before = (self.snapshot_dir / f"{seq}.jsonl").read_bytes()
        now = self.knowledge_path.read_bytes() if self.knowledge_path.exists() else b""
        # Equal: it died before rewriting knowledge.jsonl, so nothing changed.
        return seq if before != now else None

    def recover(self) -> int | None:
        """Log an interrupted operation's change to knowledge.jsonl as operation `recovered`
        (so rollback can undo it); returns its number, or None when there was nothing to log."""
        with self.locked():
            seq = self.unlogged_change()
            if seq is None:
                return None
            diff = diff_items(read_items(self.snapshot_dir / f"{seq}.jsonl"), self.load())
            append_jsonl(
                self.history_path,
                {
                    "seq": seq,
                    "op": "recovered",
                    "at": utc_now(),
                    "pid": os.getpid(),
                    "snapshot": seq,
                    "summary": {
                        "added": len(diff.added),
                        "removed": len(diff.removed),
                        "changed": len(diff.changed),
                        "note": "an interrupted operation changed knowledge.jsonl without "
                        "logging it",
                    },
                    "changes": [{"action": "replace", **diff.__dict__}],
                },
            )
            self.write_manifest()
        logger.warning(
            "kb %s: logged an interrupted operation's unlogged change as #%d (rollback undoes it)",
            self.kb_dir,
            seq,
        )
        return seq

    def last_seq(self) -> int:
        """Number of the latest logged operation (0 if none); reads only the log's tail."""
        if not self.history_path.exists():
            return 0
        with self.history_path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            block = 1 << 16
            while True:
                handle.seek(max(0, size - block))
                lines = handle.read().splitlines()
                # The first line of a partial read may be cut; trust it only from offset 0.
                if len(lines) > 1 or block >= size:
                    break
                block *= 4
        for line in reversed(lines):
            if line.strip():
                return int(json.loads(line)["seq"])
        return 0

    def _next_seq(self) -> int:
        return max([self.last_seq(), *self.snapshots()]) + 1

    def _write_snapshot(self, seq: int) -> None:
        current = self.knowledge_path.read_text("utf-8") if self.knowledge_path.exists() else ""
        # The fitted files first: a snapshot's knowledge never appears without them.
        snapshot_files(self.kb_dir, self.snapshot_dir, seq)
        atomic_write_text(self.snapshot_dir / f"{seq}.jsonl", current)
        for old in self.snapshots()[: -self.keep_snapshots]:
            (self.snapshot_dir / f"{old}.jsonl").unlink(missing_ok=True)
        prune_snapshot_files(self.snapshot_dir, self.snapshots())

    def write_manifest(self) -> None:
        """Describe the KB; written after the payload, atomically (P9)."""
        import bundlekd

        items = list(self.load().values())
        manifest = {
            "format": "bundlekd-knowledge-base",
            "bundlekd_version": bundlekd.__version__,
            "schema_version": SCHEMA_VERSION,
            "created_at": self.settings.get("created_at", utc_now()),
            "updated_at": utc_now(),
            "embedder_id": self.settings.get("embedder_id"),
            "index_backend": self.settings.get("index_backend"),
            "knowledge_sha256": file_sha256(self.knowledge_path)
            if self.knowledge_path.exists()
            else None,
            "knowledge_hash": knowledge_hash(items),
            "last_seq": self.last_seq(),
            "counts": count_items(items),
        }
        write_json(self.manifest_path, manifest)

    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = read_json(self.manifest_path)
        return manifest

    # --- maintenance ---------------------------------------------------------------------
    def migrate(self) -> int:
        """Rewrite knowledge.jsonl if any row is below SCHEMA_VERSION; returns rows migrated."""
        if not self.knowledge_path.exists():
            return 0
        with self.locked():
            stale = sum(migrate_row(row)[1] for _, row in iter_jsonl(self.knowledge_path))
            if stale:
                with self.transaction("migrate") as tx:
                    tx.changed = True
                    tx.summary = {"rows_migrated": stale, "to_version": SCHEMA_VERSION}
        return stale

    def rollback_target(self) -> int:
        """The snapshot a bare `rollback` restores: before the latest op not yet undone."""
        undone_from: float = float("inf")
        for event in reversed(self.history()):
            if event["op"] == "rollback":
                undone_from = min(undone_from, event["summary"]["to"])
                continue
            if event["snapshot"] < undone_from:
                return int(event["snapshot"])
        raise KnowledgeBaseError(f"{self.kb_dir}: nothing to roll back")

    def rollback(self, to: int | None = None) -> int:
        """Restore the state before operation `to` (default: undo the latest op); returns it.

        The fitted files kept with that snapshot (the grouping tool) come back with the
        knowledge; a snapshot that kept none (older KBs) leaves them as they are, and the KB
        then reports its tool as fitted on another knowledge state.
        """
        with self.transaction("rollback") as tx:
            target = self.rollback_target() if to is None else to
            path = self.snapshot_dir / f"{target}.jsonl"
            if not path.exists():
                raise KnowledgeBaseError(
                    f"{self.kb_dir}: snapshot {target} is not kept; available: {self.snapshots()}"
                )
            tx.replace_all(read_items(path), snapshot=target)
            tx.files = read_snapshot_files(self.snapshot_dir, target)
            tx.summary = {"to": target, "files": "restored" if tx.files is not None else "kept"}
        return target


def knowledge_provenance(items: Iterable[KnowledgeItem], shown: int = 5) -> dict[str, Any]:
    """Active items whose labels came from the test split, or from no known split.

    Such items only get in when forced (`kb add --force`, `distill --force`); a run that uses
    them must say so (`generate` and `eval` warn, and record this in their outputs).
    """
    test, unknown = [], []
    for item in items:
        if item.status != "active":
            continue
        verdict = classify(item.source_splits, NON_TEST_SPLITS)
        if verdict == "test":
            test.append(item.id)
        elif verdict == "unknown":
            unknown.append(item.id)
    return {
        "test_items": len(test),
        "test_item_ids": test[:shown],
        "unknown_split_items": len(unknown),
        "unknown_split_item_ids": unknown[:shown],
    }


def count_items(items: Iterable[KnowledgeItem]) -> dict[str, Any]:
    """Counts by kind, status, domain and source split (splits of active items only)."""
    items = list(items)
    active = [i for i in items if i.status == "active"]
    return {
        "total": len(items),
        "active": len(active),
        "by_kind": dict(sorted(Counter(i.kind for i in items).items())),
        "by_status": dict(sorted(Counter(i.status for i in items).items())),
        "by_domain": dict(sorted(Counter(i.domain for i in items).items())),
        "by_split": dict(sorted(Counter(s for i in active for s in i.source_splits).items())),
    }
