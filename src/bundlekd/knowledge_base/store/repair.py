"""`bundlekd kb repair`: put back a knowledge.jsonl that no longer parses from a snapshot."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from bundlekd.errors import DataError, KnowledgeBaseError
from bundlekd.files import append_jsonl, write_jsonl
from bundlekd.knowledge_base.store.history_log import strict_json
from bundlekd.knowledge_base.store.items import utc_now
from bundlekd.knowledge_base.store.state import read_snapshot_files, restore_files

if TYPE_CHECKING:
    from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore

logger = logging.getLogger(__name__)


def repair(store: KnowledgeStore) -> int:
    """Put back the newest readable snapshot when knowledge.jsonl no longer parses; returns
    its number. The damaged file is kept beside it (`knowledge.jsonl.corrupt-<n>`), and the
    operations from that snapshot on are lost (logged as operation `repair`).

    Raises:
        KnowledgeBaseError: knowledge.jsonl reads fine, or no snapshot is readable.
    """
    from bundlekd.knowledge_base.store.knowledge_store import KNOWLEDGE_FILE, read_items

    with store.locked("repair"):
        try:
            read_items(store.knowledge_path)
        except DataError as exc:
            problem = str(exc)
        else:
            raise KnowledgeBaseError(
                f"{store.knowledge_path} reads fine: nothing to repair (`bundlekd kb rollback` "
                "undoes an operation)"
            )
        for target in reversed(store.snapshots()):
            try:
                items = read_items(store.snapshot_dir / f"{target}.jsonl")
            except DataError:
                continue
            break
        else:
            raise KnowledgeBaseError(f"{store.kb_dir}: no readable snapshot to repair from")
        seq = store._next_seq()
        kept = store.kb_dir / f"{KNOWLEDGE_FILE}.corrupt-{seq}"
        kept.write_bytes(store.knowledge_path.read_bytes())
        write_jsonl(store.knowledge_path, (item.to_row() for item in items.values()))
        files = read_snapshot_files(store.snapshot_dir, target)
        restored = restore_files(store.kb_dir, files) if files is not None else {}
        lost = [e["seq"] for e in store.history() if e["seq"] >= target]
        event = {
            "seq": seq,
            "op": "repair",
            "at": utc_now(),
            "pid": os.getpid(),
            "snapshot": None,
            "summary": {
                "to": target,
                "damaged": problem,
                "kept_as": kept.name,
                "lost_operations": lost,
            },
            "changes": [{"action": "files", **restored}],
        }
        strict_json(event, f"{store.kb_dir}: repair")
        append_jsonl(store.history_path, event)
        store.write_manifest()
    logger.warning(
        "%s: knowledge.jsonl put back from snapshot %d; operations %s are lost (the damaged "
        "file is %s)",
        store.kb_dir,
        target,
        lost,
        kept.name,
    )
    return target
