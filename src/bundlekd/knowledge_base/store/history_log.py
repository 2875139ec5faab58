"""What history.jsonl may hold, and which snapshots successive bare rollbacks restore.

history.jsonl is strict JSON (`strict_json`: no NaN or infinity, which strict readers reject).
An operation that changed nothing is logged with ``"snapshot": null``; `undo_chain` walks the
log from the newest entry and lists the snapshots bare rollbacks restore, skipping those, and
skipping past what a rollback (or a repair) already undid.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from bundlekd.errors import KnowledgeBaseError

#: Operations that restore an earlier snapshot (`summary.to`): a bare rollback skips past them.
RESTORING_OPS = ("rollback", "repair")


def strict_json(row: dict[str, Any], where: str) -> None:
    """Refuse a row that strict JSON readers would reject (NaN, infinity)."""
    try:
        json.dumps(row, allow_nan=False)
    except ValueError:
        bad = [k for k, v in _flat(row) if isinstance(v, float) and not math.isfinite(v)]
        raise KnowledgeBaseError(
            f"{where}: refusing to log a non-finite number ({', '.join(bad) or 'a value'}); "
            "history.jsonl is strict JSON"
        ) from None


def _flat(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _flat(value, f"{prefix}{key}.")
    elif isinstance(obj, list | tuple):
        for k, value in enumerate(obj):
            yield from _flat(value, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), obj


def undo_chain(events: Iterable[dict[str, Any]]) -> list[int]:
    """The snapshots successive bare rollbacks restore, newest first: each the state before the
    latest real change (one with a snapshot) that no rollback has undone yet."""
    chain: list[int] = []
    undone_from: float = math.inf
    for event in reversed(list(events)):
        if event["op"] in RESTORING_OPS:
            undone_from = min(undone_from, event["summary"]["to"])
            continue
        snapshot = event.get("snapshot")
        if snapshot is not None and snapshot < undone_from:
            chain.append(int(snapshot))
            undone_from = snapshot
    return chain
