"""What one KB state is: its active knowledge (named by a hash) and the files fitted from it.

A KB is more than `knowledge.jsonl`: the grouping tool (`tool/tool.json`) is fitted from its
exemplars, and the predictions of a KB state depend on both. So the fitted files are versioned
with the knowledge: each snapshot keeps them beside `snapshots/<n>.jsonl` as
`snapshots/<n>.files.json` (``{relative path: text, or null when absent}``), and a rollback
restores them together with the knowledge.

`knowledge_hash` names an active knowledge state. The tool records the hash of the state it was
fitted on, so a tool that no longer matches its KB (after `kb add`, `kb remove`, or a rollback
to a snapshot that predates versioned files) is found and reported, never used silently; a
predictions manifest records it too, so a resume cannot mix two KB states.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from bundlekd.errors import DataError, KnowledgeBaseError
from bundlekd.files import atomic_write_text, canonical_hash, read_json, write_json
from bundlekd.knowledge_base.store.items import KnowledgeItem

logger = logging.getLogger(__name__)

#: Files fitted from the knowledge, versioned with it (relative to the KB folder).
VERSIONED_FILES: tuple[str, ...] = ("tool/tool.json",)
FILES_SUFFIX = ".files.json"


def knowledge_hash(items: Iterable[KnowledgeItem], kinds: Iterable[str] | None = None) -> str:
    """A hash of the active items (of `kinds`, default all): what they say and where from.

    It covers what predictions can depend on (id = kind + domain + text, provenance sessions,
    splits and stats) and leaves out when an item was written, so the same knowledge distilled
    twice has the same hash.
    """
    wanted = set(kinds) if kinds is not None else None
    rows = sorted(
        (item.id, list(item.source_session_ids), list(item.source_splits), item.stats)
        for item in items
        if item.status == "active" and (wanted is None or item.kind in wanted)
    )
    return canonical_hash(rows)


def snapshot_path(snapshot_dir: Path, seq: int) -> Path:
    return snapshot_dir / f"{seq}{FILES_SUFFIX}"


def current_files(kb_dir: Path) -> dict[str, str | None]:
    """The versioned files as they are now (absent ones as None)."""
    files: dict[str, str | None] = {}
    for name in VERSIONED_FILES:
        path = kb_dir / name
        files[name] = path.read_bytes().decode("utf-8", "replace") if path.is_file() else None
    return files


def snapshot_files(kb_dir: Path, snapshot_dir: Path, seq: int) -> None:
    """Keep the versioned files as they are now (absent ones as null) with snapshot `seq`."""
    write_json(snapshot_path(snapshot_dir, seq), current_files(kb_dir))


def read_snapshot_files(snapshot_dir: Path, seq: int) -> dict[str, str | None] | None:
    """The versioned files kept with snapshot `seq`; None when that snapshot kept none (it was
    written by a bundlekd before versioned files) or they cannot be read."""
    path = snapshot_path(snapshot_dir, seq)
    if not path.is_file():
        return None
    try:
        files = read_json(path)
    except DataError as exc:
        logger.warning("%s; the fitted files are not restored", exc)
        return None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in files.items()
    ):
        logger.warning("%s: not a map of file texts; the fitted files are not restored", path)
        return None
    return {name: files.get(name) for name in VERSIONED_FILES}


def restore_files(kb_dir: Path, files: dict[str, str | None]) -> dict[str, str]:
    """Put the versioned files back as `files` says (write or delete); returns what was done."""
    done: dict[str, str] = {}
    for name, text in files.items():
        if name not in VERSIONED_FILES:  # never write outside the known files
            raise KnowledgeBaseError(f"{kb_dir}: snapshot names an unknown file {name!r}")
        path = kb_dir / name
        if text is None:
            if path.exists():
                path.unlink()
                done[name] = "removed"
            continue
        current = path.read_text("utf-8") if path.is_file() else None
        if current != text:
            atomic_write_text(path, text)
            done[name] = "restored"
    return done


def prune_snapshot_files(snapshot_dir: Path, keep: Iterable[int]) -> None:
    """Delete the file snapshots whose knowledge snapshot is gone."""
    kept = set(keep)
    for path in snapshot_dir.glob(f"*{FILES_SUFFIX}"):
        stem = path.name.removesuffix(FILES_SUFFIX)
        if stem.isdigit() and int(stem) not in kept:
            path.unlink(missing_ok=True)
