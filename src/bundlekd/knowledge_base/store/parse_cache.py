"""The last parse of the few most recently read knowledge.jsonl files in this process.

Keyed by path, with the file's stamp (mtime, size, inode): a store object opened after another
one read or wrote the same state (a live service reopening its KB after a write) does not
parse 3k rows again. Bounded: a study opens one KB per cell.
"""

from __future__ import annotations

from pathlib import Path

from bundlekd.knowledge_base.store.items import KnowledgeItem

Stamp = tuple[int, int, int]
Parsed = tuple[Stamp, dict[str, KnowledgeItem]]

_PARSED: dict[str, Parsed] = {}
_KEPT = 4


def recall_parse(path: Path, stamp: Stamp) -> Parsed | None:
    """The parse of `path` as it is at `stamp`, if this process made one."""
    found = _PARSED.get(str(path))
    return found if found is not None and found[0] == stamp else None


def remember_parse(path: Path, parsed: Parsed) -> None:
    _PARSED.pop(str(path), None)  # most recent last
    while len(_PARSED) >= _KEPT:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[str(path)] = parsed
