"""A damaged or unusable embedding cache is never fatal (issue 16 item 5): a corrupt file is set
aside and rebuilt, an unusable one skipped, bad rows embedded again; one warning names the file."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bundlekd.llm.embedding_cache import CachingEmbedder, _key
from bundlekd.llm.embeddings import HashingEmbedder

TEXTS = [f"USB-C charging cable, {n} ft, braided" for n in range(400)]
REFERENCE = HashingEmbedder(64).embed_batch(TEXTS)


def _filled(path: Path) -> None:
    cached = CachingEmbedder(HashingEmbedder(64), path)
    cached.embed_batch(TEXTS)
    cached.close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()


def _set_row(path: Path, text: str, blob: bytes) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "UPDATE vectors SET vector = ? WHERE key = ?", (blob, _key("hashing-64", text))
        )
    connection.close()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 3]),
    "not a database": lambda p: p.write_bytes(b"\x00garbage" * 512),
    "row of the wrong length": lambda p: _set_row(p, TEXTS[7], b"\x00" * 12),
    "row of NaN": lambda p: _set_row(p, TEXTS[9], np.full(64, np.nan, np.float32).tobytes()),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_cache_gives_the_right_vectors_and_one_warning_naming_it(
    tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "vectors.sqlite"
    _filled(path)
    DAMAGE[case](path)
    cached = CachingEmbedder(HashingEmbedder(64), path)
    with caplog.at_level(logging.WARNING):
        first = cached.embed_batch(TEXTS)
        second = cached.embed_batch(TEXTS[:50])
    assert np.allclose(first, REFERENCE)
    assert np.allclose(second, REFERENCE[:50])
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert str(path) in warnings[0].getMessage()
    # Rebuilt: a new process finds every vector and warns about nothing.
    caplog.clear()
    again = CachingEmbedder(HashingEmbedder(64), path)
    with caplog.at_level(logging.WARNING):
        assert np.allclose(again.embed_batch(TEXTS), REFERENCE)
    assert again.misses == 0
    assert caplog.text == ""


def test_an_unwritable_cache_is_skipped_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Tests run as root here, which writes read-only files anyway: make SQLite say it.
    path = tmp_path / "vectors.sqlite"
    _filled(path)
    real_connect = sqlite3.connect

    def read_only(*args: object, **kwargs: object) -> sqlite3.Connection:
        return real_connect(f"file:{path}?mode=ro", uri=True)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    cached = CachingEmbedder(HashingEmbedder(64), path)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            texts = [*TEXTS[:5], "a new title"]
            assert np.allclose(cached.embed_batch(texts), HashingEmbedder(64).embed_batch(texts))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert str(path) in warnings[0]
    assert "readonly" in warnings[0]
    assert path.exists()  # skipped, not set aside: the file is fine, only not writable here


def test_a_cache_folder_that_cannot_be_created_is_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    cached = CachingEmbedder(HashingEmbedder(64), blocker / "embeddings" / "v.sqlite")
    assert np.allclose(cached.embed_batch(TEXTS[:3]), REFERENCE[:3])
    assert cached.disabled is not None
