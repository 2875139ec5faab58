"""A persistent embedding cache in front of any embedder (SQLite, stdlib only).

Every `generate` start used to re-embed the whole example pool and every tool run the whole
item memory (issue: a third of a short run's time). Vectors are stored per (embedder id, text):
a second start embeds nothing it has seen, and a changed embedder or data never reuses a stale
vector, because both are part of the key. Rows are float32 bytes of the embedder's dimension.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bundlekd.llm.embeddings import Embedder

_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
_CHUNK = 500  # SQLite's host-parameter limit is 999 on old builds


def _key(embedder_id: str, text: str) -> str:
    return hashlib.sha256(f"{embedder_id}\x00{text}".encode()).hexdigest()


class CachingEmbedder(Embedder):
    """Wraps `inner`; embeds only texts the cache lacks. `hits`/`misses` count texts."""

    def __init__(self, inner: Embedder, path: str | Path) -> None:
        self.inner = inner
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.name = inner.name  # type: ignore[misc]  # instance value shadows the ClassVar
        self.hits = 0
        self.misses = 0
        self._local = threading.local()

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.inner.dim

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)
            self._local.connection = connection
        return connection

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self.inner.embed_batch(texts)
        model_id = self.inner.model_id
        keys = [_key(model_id, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        connection = self._connection()
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = connection.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
            ).fetchall()
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
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
            with connection:
                connection.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows
                )
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
