"""A persistent embedding cache in front of any embedder (SQLite, stdlib only).

Every `generate` start used to re-embed the whole example pool and every tool run the whole
item memory (issue: a third of a short run's time). Vectors are stored per (embedder id, text):
a second start embeds nothing it has seen, and a changed embedder or data never reuses a stale
vector, because both are part of the key. Rows are float32 bytes of the embedder's dimension.

The cache only saves time, so it is never fatal: a damaged file (truncated, not a database,
malformed) is set aside as `<name>.broken-<time>` and rebuilt; a file that cannot be opened or
written (read-only) is skipped; rows of the wrong length or not finite are embedded again.
Each case is one warning naming the file.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bundlekd.llm.embeddings import Embedder

logger = logging.getLogger(__name__)

_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
_CHUNK = 500  # SQLite's host-parameter limit is 999 on old builds


#: sqlite3 errors that mean "this file cannot be used here", not "this file is damaged".
_UNUSABLE = ("readonly", "read-only", "unable to open", "locked", "permission", "disk i/o")


def _key(embedder_id: str, text: str) -> str:
    return hashlib.sha256(f"{embedder_id}\x00{text}".encode()).hexdigest()


class CachingEmbedder(Embedder):
    """Wraps `inner`; embeds only texts the cache lacks. `hits`/`misses` count texts."""

    def __init__(self, inner: Embedder, path: str | Path) -> None:
        self.inner = inner
        self.path = Path(path)
        self.name = inner.name  # type: ignore[misc]  # instance value shadows the ClassVar
        self.hits = 0
        self.misses = 0
        self._local = threading.local()
        self._generation = 0  # bumped when the file is set aside: connections reopen
        self.disabled: str | None = None  # why the cache is skipped (then: never again)
        self._bad_rows_reported = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._disable(f"cannot create its folder ({exc.strerror or exc})")

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.inner.dim

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def load(self) -> None:
        self.inner.load()

    def _connection(self) -> sqlite3.Connection:
        cached = getattr(self._local, "connection", None)
        if cached is not None and cached[0] == self._generation:
            return cached[1]  # type: ignore[no-any-return]
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)
            connection.execute("SELECT key, vector FROM vectors LIMIT 1").fetchall()
        except sqlite3.Error:
            connection.close()
            raise
        self._local.connection = (self._generation, connection)
        return connection

    def close(self) -> None:
        """Close this thread's connection to the file (a later call reopens it)."""
        cached = getattr(self._local, "connection", None)
        if cached is not None:
            cached[1].close()
            self._local.connection = None

    def _disable(self, why: str) -> None:
        if self.disabled is None:
            self.disabled = why
            logger.warning("embedding cache %s %s; embedding without it", self.path, why)

    def _set_aside(self, exc: sqlite3.Error) -> bool:
        """Move a damaged file away so the next connection starts a new one; False when the
        cache had to be skipped instead."""
        message = str(exc)
        if any(word in message.lower() for word in _UNUSABLE):
            self._disable(f"cannot be used ({message})")
            return False
        self.close()
        broken = self.path.with_name(f"{self.path.name}.broken-{time.strftime('%Y%m%d%H%M%S')}")
        try:
            self.path.replace(broken)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    side.replace(broken.with_name(broken.name + suffix))
        except OSError as exc2:
            self._disable(f"is damaged ({message}) and cannot be moved ({exc2.strerror or exc2})")
            return False
        self._generation += 1
        logger.warning(
            "embedding cache %s is damaged (%s): set aside as %s, starting a new one",
            self.path,
            message,
            broken.name,
        )
        return True

    def _lookup(self, unique: list[str]) -> dict[str, np.ndarray]:
        """Usable cached vectors by key (wrong-length or non-finite rows are left out)."""
        found: dict[str, np.ndarray] = {}
        connection = self._connection()
        width = self.inner.dim * 4
        bad = 0
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = connection.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
            ).fetchall()
            for key, blob in rows:
                vector = (
                    np.frombuffer(blob, dtype=np.float32)
                    if isinstance(blob, bytes) and len(blob) == width
                    else None
                )
                if vector is None or not np.isfinite(vector).all():
                    bad += 1
                    continue
                found[key] = vector
        if bad and not self._bad_rows_reported:
            self._bad_rows_reported = True
            logger.warning(
                "embedding cache %s: %d row(s) of the wrong length or not finite; embedding "
                "them again",
                self.path,
                bad,
            )
        return found

    def _cached(self, unique: list[str]) -> dict[str, np.ndarray]:
        for _ in range(2):  # once more after setting a damaged file aside
            if self.disabled is not None:
                return {}
            try:
                return self._lookup(unique)
            except sqlite3.Error as exc:
                if not self._set_aside(exc):
                    return {}
        self._disable("is still unreadable after starting a new one")
        return {}

    def _store(self, rows: list[tuple[str, bytes]]) -> None:
        if self.disabled is not None:
            return
        try:
            connection = self._connection()
            with connection:
                connection.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows
                )
        except sqlite3.Error as exc:
            self._disable(f"cannot be written ({exc})")

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts or self.disabled is not None:
            return self.inner.embed_batch(texts)
        model_id = self.inner.model_id
        keys = [_key(model_id, t) for t in texts]
        unique = list(dict.fromkeys(keys))
        found = self._cached(unique)
        missing = [i for i, k in enumerate(unique) if k not in found]
        self.hits += len(unique) - len(missing)
        self.misses += len(missing)
        if missing:
            by_key = {k: t for k, t in zip(keys, texts, strict=True)}
            fresh = self.inner.embed_batch([by_key[unique[i]] for i in missing])
            rows = []
            for i, vector in zip(missing, fresh, strict=True):
                vector = np.ascontiguousarray(vector, dtype=np.float32)
                found[unique[i]] = vector
                rows.append((unique[i], vector.tobytes()))
            self._store(rows)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
