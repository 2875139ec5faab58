"""KnowledgeStore: `knowledge.jsonl` (the truth), `history.jsonl`, snapshots and `manifest.json`.

Layout of a KB directory::

    knowledge.jsonl     one KnowledgeItem per line (source of truth)
    history.jsonl       append-only log, one line per mutating operation
    snapshots/<n>.jsonl knowledge.jsonl as it was *before* operation n (see "Undo" below)
    snapshots/<n>.files.json  the files fitted from it (the grouping tool), as they were (`state`)
    manifest.json       counts, embedder id, index backend, versions; written last (P9)
    index/              the vector index, a rebuildable cache (see index.py)
    .lock               filelock held by every operation that changes the KB
    .lock.owner         who holds it (op, pid, since), for the message of a writer that waits
    .scratch/           copies a prune or a tool fit works on (`scratch`), removed by the next
                        writer when a killed one left them

Every mutation runs inside `transaction()`: take the lock, re-read `knowledge.jsonl` (another
process may have written it since we last looked), apply the change, snapshot the old file,
rewrite atomically, append history, rewrite the manifest. So concurrent writers never lose
each other's items. The lock is one per KB folder and per process (`_file_lock`): a writer that
holds it can open the KB again (another store object) without waiting for itself, and a second
writer waits for it (saying who holds it), up to `lock_timeout_s`, then refuses.

Undo. Only a real change takes a snapshot: an operation that changed nothing (a rejected prune,
a rollback to the state the KB is in, a refit that gave the same tool) is logged with
``"snapshot": null``. A bare rollback undoes the latest real change not yet undone
(`undo_chain`), and retention (`keep_snapshots`, a KB setting kept in manifest.json, default
20) keeps the snapshots of the newest real changes and of the changes successive bare
rollbacks would undo, so neither a run of no-ops nor a rollback evicts them. history.jsonl is
strict JSON (no NaN or infinity). A knowledge.jsonl that no longer parses is put back from the
newest readable snapshot by `repair` (`bundlekd kb repair`), which the read error names.

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
from bundlekd.knowledge_base.store import scratch
from bundlekd.knowledge_base.store.history_log import strict_json, undo_chain
from bundlekd.knowledge_base.store.items import (
    SCHEMA_VERSION,
    KnowledgeItem,
    migrate_row,
    row_error,
    utc_now,
)
from bundlekd.knowledge_base.store.parse_cache import recall_parse, remember_parse
from bundlekd.knowledge_base.store.state import (
    current_files,
    knowledge_hash,
    prune_snapshot_files,
    read_snapshot_files,
    restore_files,
    snapshot_files,
)
from bundlekd.knowledge_base.store.writer_lock import WriterLock

logger = logging.getLogger(__name__)

KNOWLEDGE_FILE = "knowledge.jsonl"
HISTORY_FILE = "history.jsonl"
MANIFEST_FILE = "manifest.json"
SNAPSHOT_DIR = "snapshots"
DEFAULT_KEEP_SNAPSHOTS = 20


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
        self,
        kb_dir: str | Path,
        *,
        keep_snapshots: int | None = None,
        lock_timeout_s: float = 600.0,
    ) -> None:
        self.kb_dir = Path(kb_dir)
        self.lock_timeout_s = lock_timeout_s
        self._writer = WriterLock(self.kb_dir, lock_timeout_s)
        self._cache: tuple[tuple[int, int, int], dict[str, KnowledgeItem]] | None = None
        self.settings: dict[str, Any] = {}
        if self.manifest_path.exists():
            manifest = read_json(self.manifest_path)
            self.settings = {
                key: manifest[key]
                for key in ("embedder_id", "index_backend", "created_at", "keep_snapshots")
                if key in manifest
            }
        if keep_snapshots is not None:
            self.settings["keep_snapshots"] = keep_snapshots

    @property
    def keep_snapshots(self) -> int:
        """How many real changes stay undoable (the KB's `keep_snapshots` setting)."""
        value = self.settings.get("keep_snapshots", DEFAULT_KEEP_SNAPSHOTS)
        return value if isinstance(value, int) and value >= 1 else DEFAULT_KEEP_SNAPSHOTS

    def set_keep_snapshots(self, keep: int) -> None:
        """Keep the snapshots of the newest `keep` real changes (recorded in manifest.json)."""
        from bundlekd.numbers import count

        with self.locked("retention"):
            self.settings["keep_snapshots"] = count(keep, "keep_snapshots")
            self.write_manifest()

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
            shared = recall_parse(self.knowledge_path, stamp)
            if shared is not None:  # another store object read it
                self._cache = shared
                return dict(shared[1])
            try:
                items = read_items(self.knowledge_path)
            except DataError as exc:
                raise self._damaged(exc) from None
            self._cache = (stamp, items)
            remember_parse(self.knowledge_path, self._cache)
        return dict(self._cache[1])

    def _damaged(self, exc: DataError) -> DataError:
        """A read error of knowledge.jsonl, naming the command that puts back a snapshot."""
        if not self.snapshots():
            return exc
        return DataError(
            f"{exc}; knowledge.jsonl is damaged: put back its last snapshot with "
            f"`bundlekd kb repair {self.kb_dir}`"
        )

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
    def locked(self, op: str = "write") -> Iterator[None]:
        """Hold the KB's writer lock as operation `op` (`writer_lock`; re-entrant within this
        process and thread). The outermost hold deletes scratch copies a killed writer left.

        Raises:
            KnowledgeBaseError: still held by another writer after `lock_timeout_s`, or the
                KB cannot be written.
        """
        with self._writer.held(op) as outermost:
            if outermost:
                self._check_writable()
                scratch.clean(self.kb_dir)
            yield

    def _check_writable(self) -> None:
        for path in (self.knowledge_path, self.history_path, self.manifest_path):
            if path.exists() and not os.access(path, os.W_OK):
                raise KnowledgeBaseError(
                    f"{path}: read-only; this knowledge base cannot be changed (make it "
                    "writable, or copy it: cp -a)"
                )

    def lock_owner(self) -> dict[str, Any] | None:
        """Who holds the writer lock now, as it recorded itself (None: unknown or nobody)."""
        return self._writer.owner()

    def init(self, **settings: Any) -> None:
        """Create an empty KB (idempotent) and record settings such as embedder_id."""
        with self.locked("init"):
            self.settings.update({k: v for k, v in settings.items() if v is not None})
            self.settings.setdefault("created_at", utc_now())
            if not self.knowledge_path.exists():
                write_jsonl(self.knowledge_path, [])
            self.write_manifest()

    @contextlib.contextmanager
    def transaction(self, op: str) -> Iterator[Transaction]:
        """Lock, log an earlier interrupted change, re-read, let the caller mutate, then commit
        if anything changed."""
        with self.locked(op):
            self.recover()
            items = self.load()
            tx = Transaction(op=op, items=dict(items))
            yield tx
            if tx.changed:
                self._commit(tx, items)

    def _commit(self, tx: Transaction, before: dict[str, KnowledgeItem]) -> None:
        """Write a transaction: a real change (the items or the versioned files differ, or a
        migration) takes snapshot `seq`; a no-op is logged without one."""
        seq = self._next_seq()
        knowledge = tx.items != before or tx.op == "migrate"
        files = tx.files is not None and any(
            current_files(self.kb_dir).get(k) != v for k, v in tx.files.items()
        )
        event: dict[str, Any] = {
            "seq": seq,
            "op": tx.op,
            "at": utc_now(),
            "pid": os.getpid(),
            "snapshot": seq if knowledge or files else None,
            "summary": tx.summary,
            "changes": tx.changes,
        }
        strict_json(event, f"{self.kb_dir}: {tx.op}")  # before anything is written
        if knowledge or files:
            self._write_snapshot(seq, [*self.history(), event])
        if knowledge:
            write_jsonl(self.knowledge_path, (item.to_row() for item in tx.items.values()))
            stamp = self._stamp()
            if stamp is not None:  # we just wrote it: no need to parse it again
                self._cache = (stamp, dict(tx.items))
                remember_parse(self.knowledge_path, self._cache)
        if files and tx.files is not None:
            restored = restore_files(self.kb_dir, tx.files)
            tx.changes.append({"action": "files", **restored})
        append_jsonl(self.history_path, event)
        self.write_manifest()
        logger.info(
            "kb %s: %s logged as #%d (%d changes%s)",
            self.kb_dir,
            tx.op,
            seq,
            len(tx.changes),
            "" if event["snapshot"] else "; nothing changed, no snapshot",
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
        if before != now:
            return seq
        # The knowledge is as it was: did the fitted files (a refit's tool) change?
        files = read_snapshot_files(self.snapshot_dir, seq)
        if files is not None and files != current_files(self.kb_dir):
            return seq
        return None  # it died before changing anything

    def recover(self) -> int | None:
        """Log an interrupted operation's change to knowledge.jsonl as operation `recovered`
        (so rollback can undo it); returns its number, or None when there was nothing to log."""
        with self.locked("recover"):
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

    def _write_snapshot(self, seq: int, events: list[dict[str, Any]]) -> None:
        """Keep the state before operation `seq`, then drop the snapshots retention lets go
        (`events`: the history with this operation's entry last)."""
        current = self.knowledge_path.read_text("utf-8") if self.knowledge_path.exists() else ""
        # The fitted files first: a snapshot's knowledge never appears without them.
        snapshot_files(self.kb_dir, self.snapshot_dir, seq)
        atomic_write_text(self.snapshot_dir / f"{seq}.jsonl", current)
        keep = self.retained(events)
        for old in self.snapshots():
            if old not in keep:
                (self.snapshot_dir / f"{old}.jsonl").unlink(missing_ok=True)
        prune_snapshot_files(self.snapshot_dir, self.snapshots())

    def retained(self, events: list[dict[str, Any]]) -> set[int]:
        """The snapshots retention keeps: those of the newest `keep_snapshots` real changes,
        and the next `keep_snapshots` a bare rollback would restore (`undo_chain`)."""
        keep = self.keep_snapshots
        real = [int(e["snapshot"]) for e in events if e.get("snapshot") is not None]
        return set(real[-keep:]) | set(undo_chain(events)[:keep])

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
            **(
                {"keep_snapshots": self.settings["keep_snapshots"]}
                if "keep_snapshots" in self.settings
                else {}
            ),
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
        with self.locked("migrate"):
            try:
                stale = sum(migrate_row(row)[1] for _, row in iter_jsonl(self.knowledge_path))
            except DataError as exc:
                raise self._damaged(exc) from None
            if stale:
                with self.transaction("migrate") as tx:
                    tx.changed = True
                    tx.summary = {"rows_migrated": stale, "to_version": SCHEMA_VERSION}
        return stale

    def rollback_target(self) -> int:
        """The snapshot a bare `rollback` restores: before the latest real change not yet
        undone (operations that changed nothing are skipped)."""
        chain = undo_chain(self.history())
        if not chain:
            raise KnowledgeBaseError(f"{self.kb_dir}: nothing to roll back")
        return chain[0]

    def rollback(self, to: int | None = None) -> int:
        """Restore the state before operation `to` (default: undo the latest real change);
        returns it.

        The fitted files kept with that snapshot (the grouping tool) come back with the
        knowledge; a snapshot that kept none (older KBs) leaves them as they are, and the KB
        then reports its tool as fitted on another knowledge state.
        """
        with self.transaction("rollback") as tx:
            target = self.rollback_target() if to is None else to
            path = self.snapshot_dir / f"{target}.jsonl"
            if not path.exists():
                event = next((e for e in self.history() if e["seq"] == target), None)
                if event is not None and event.get("snapshot") is None:
                    raise KnowledgeBaseError(
                        f"{self.kb_dir}: operation {target} ({event['op']}) changed nothing, so "
                        f"there is no state before it to restore; snapshots: {self.snapshots()}"
                    )
                raise KnowledgeBaseError(
                    f"{self.kb_dir}: snapshot {target} is not kept; available: {self.snapshots()}"
                )
            tx.replace_all(read_items(path), snapshot=target)
            tx.files = read_snapshot_files(self.snapshot_dir, target)
            tx.summary = {"to": target, "files": "restored" if tx.files is not None else "kept"}
        return target

    def repair(self) -> int:
        """Put back the newest readable snapshot when knowledge.jsonl no longer parses
        (`store.repair`); returns its number."""
        from bundlekd.knowledge_base.store.repair import repair

        return repair(self)


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
