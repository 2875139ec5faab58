"""A persistent call cache in front of any backend (SQLite, stdlib only).

Key: sha256 of the canonical JSON of {backend name, model id, request}. Only deterministic
calls are cached: greedy ones, or sampled ones with a fixed seed. Failed requests
(`Completion.error`) are never stored. A hit comes back with `latency_s == 0`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bundlekd.files import canonical_hash
from bundlekd.llm.base import LLM, ChatRequest, Completion

# The whole sha256 hex digest, as keys had before they were computed by files.canonical_hash.
KEY_LENGTH = 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    finish_reason TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


def is_cacheable(request: ChatRequest) -> bool:
    """Greedy requests, and sampled ones with a seed, give repeatable answers."""
    return request.sampling.temperature <= 0 or request.sampling.seed is not None


class CachingLLM(LLM):
    """Wraps `inner`; answers repeated deterministic requests from an SQLite file.

    Safe across threads (one connection per thread) and processes (WAL journal, busy timeout).
    `hits` and `misses` count lookups since construction.

    Args:
        inner: the backend to call on a miss.
        path: the SQLite file (created with its parent folders).
    """

    name = "cache"

    def __init__(self, inner: LLM, path: str | Path) -> None:
        self.inner = inner
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.supports_json_schema = inner.supports_json_schema
        self.supports_adapters = inner.supports_adapters
        self.hits = 0
        self.misses = 0
        self._local = threading.local()
        self._stats_lock = threading.Lock()
        self._connect()  # create the table now, so a bad path fails here

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            conn.commit()
            self._local.conn = conn
        return conn

    def key(self, request: ChatRequest) -> str:
        """The cache key of `request` for the wrapped backend."""
        payload: dict[str, Any] = {
            "backend": self.inner.name,
            "model": self.inner.model_id,
            "request": request.to_dict(),
            # Canonical JSON sorts keys; the schema's own key order changes the output.
            "schema_text": json.dumps(request.json_schema, ensure_ascii=False),
        }
        return canonical_hash(payload, length=KEY_LENGTH)

    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Answer from the cache where possible; send the misses to `inner` in one batch."""
        results: list[Completion | None] = [None] * len(requests)
        keys: list[str | None] = [self.key(r) if is_cacheable(r) else None for r in requests]
        conn = self._connect()
        for index, key in enumerate(keys):
            if key is None:
                continue
            row = conn.execute(
                "SELECT text, prompt_tokens, completion_tokens, finish_reason, model "
                "FROM completions WHERE key = ?",
                (key,),
            ).fetchone()
            if row is not None:
                results[index] = Completion(
                    text=row[0],
                    prompt_tokens=row[1],
                    completion_tokens=row[2],
                    latency_s=0.0,
                    finish_reason=row[3],
                    model=row[4],
                )
        missing = [i for i, result in enumerate(results) if result is None]
        with self._stats_lock:
            self.hits += len(requests) - len(missing)
            self.misses += len(missing)
        if missing:
            fresh = self.inner.generate([requests[i] for i in missing])
            rows = []
            for index, completion in zip(missing, fresh, strict=True):
                results[index] = completion
                key = keys[index]
                if key is not None and completion.error is None:
                    rows.append(
                        (
                            key,
                            completion.text,
                            completion.prompt_tokens,
                            completion.completion_tokens,
                            completion.finish_reason,
                            completion.model,
                            time.time(),
                        )
                    )
            if rows:
                with conn:
                    conn.executemany(
                        "INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?)", rows
                    )
        return [r for r in results if r is not None]

    def count_tokens(self, text: str) -> int:
        """The wrapped backend's token count (a cache does not change tokenization)."""
        return self.inner.count_tokens(text)

    def runtime(self) -> dict[str, str]:
        return self.inner.runtime()

    def count(self) -> int:
        """Number of stored completions (not __len__: an empty cache must stay truthy)."""
        return self._connect().execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        """Close this thread's connection and the wrapped backend."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        self.inner.close()
