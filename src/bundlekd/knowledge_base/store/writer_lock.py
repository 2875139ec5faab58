"""The one writer lock of a KB folder (`.lock`), and who holds it (`.lock.owner`).

One lock object per folder and per process (`_file_lock`): filelock locks are re-entrant per
object and per thread, so a writer that holds the lock can open the KB again (another store
object) without waiting for itself, while another thread or process waits. A writer that finds
the lock taken says who holds it (operation, pid, since when), waits up to its timeout, then
refuses in one line; a folder it cannot write is refused in one line too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from bundlekd.errors import KnowledgeBaseError
from bundlekd.files import atomic_write_text
from bundlekd.knowledge_base.store.items import utc_now

logger = logging.getLogger(__name__)

LOCK_FILE = ".lock"
LOCK_OWNER_FILE = ".lock.owner"

_LOCKS: dict[str, FileLock] = {}
_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> FileLock:
    """The process's one lock object for a KB folder: filelock locks are re-entrant per object
    (and per thread), so every store of the same folder in this process shares it."""
    key = os.path.abspath(path)
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = FileLock(key)
        return lock


class WriterLock:
    """The writer lock of `kb_dir`, waiting up to `timeout_s` for another writer."""

    def __init__(self, kb_dir: Path, timeout_s: float) -> None:
        self.kb_dir = kb_dir
        self.timeout_s = timeout_s
        self._lock = _file_lock(kb_dir / LOCK_FILE)

    @contextlib.contextmanager
    def held(self, op: str) -> Iterator[bool]:
        """Hold the lock as operation `op`; yields whether this is the outermost hold.

        Raises:
            KnowledgeBaseError: still held by another writer after the wait, or the folder
                cannot be written.
        """
        lock = self._lock
        outermost = not lock.is_locked
        try:
            self.kb_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.kb_dir, os.W_OK):
                raise PermissionError(13, "Permission denied")
            try:
                lock.acquire(timeout=0 if outermost else -1)
            except Timeout:
                logger.warning("%s", self.busy(f"waiting up to {self.timeout_s:g}s"))
                lock.acquire(timeout=self.timeout_s)
        except Timeout:
            raise KnowledgeBaseError(self.busy("gave up waiting; try again later")) from None
        except OSError as exc:
            raise KnowledgeBaseError(
                f"{self.kb_dir}: cannot change this knowledge base: {exc.strerror or exc} "
                "(a read-only folder? copy it somewhere writable: cp -a)"
            ) from None
        try:
            if outermost:
                owner = {"op": op, "pid": os.getpid(), "since": utc_now()}
                with contextlib.suppress(OSError):
                    atomic_write_text(self.kb_dir / LOCK_OWNER_FILE, json.dumps(owner))
            yield outermost
        finally:
            if outermost:
                with contextlib.suppress(OSError):
                    (self.kb_dir / LOCK_OWNER_FILE).unlink(missing_ok=True)
            lock.release()

    def owner(self) -> dict[str, Any] | None:
        """Who holds the lock now, as it recorded itself (None: unknown or nobody)."""
        try:
            owner = json.loads((self.kb_dir / LOCK_OWNER_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return owner if isinstance(owner, dict) else None

    def busy(self, then: str) -> str:
        owner = self.owner()
        who = (
            f"`{owner.get('op')}` (pid {owner.get('pid')}, since {owner.get('since')})"
            if owner
            else "another writer"
        )
        return f"{self.kb_dir}: {who} is changing this knowledge base; {then}"
