"""`kb stats --utility` and `kb prune`'s listing: checked inputs and honest helpful/harmful lists.

`study.utility.knowledge_utility` credits items from a run's predictions and eval samples; here
its inputs are checked first, so a file that is not a predictions JSONL, or samples with
non-numeric scores, is one line naming file, line and field. The listing never shows an item
under "most harmful" that helped (or under "most helpful" one that hurt): with few items the
two ends would otherwise overlap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bundlekd.errors import DataError
from bundlekd.files import iter_jsonl, read_json

if TYPE_CHECKING:
    from bundlekd.app.study.utility import ItemUtility

SCORE = "precision_2025"


def check_utility_inputs(predictions: Path, samples: Path) -> str | None:
    """Check a run's predictions and eval samples; returns the split the run was scored on
    (from the eval's results.json beside the samples; None when it does not say).

    Raises:
        DataError: a missing file, a row without a session id, a non-numeric score.
    """
    for path in (predictions, samples):
        if not path.is_file():
            raise DataError(f"{path}: not found")
    for line, row in iter_jsonl(predictions):
        if not isinstance(row.get("session_id"), str | int) or isinstance(
            row.get("session_id"), bool
        ):
            raise DataError(
                f"{predictions}:{line}: no session_id: not a predictions JSONL (the --out of "
                "`bundlekd generate`)"
            )
        if not isinstance(row.get("knowledge_ids") or [], list):
            raise DataError(f"{predictions}:{line}: knowledge_ids is not a list")
    for line, row in iter_jsonl(samples):
        if not isinstance(row.get("session_id"), str | int) or "domain" not in row:
            raise DataError(
                f"{samples}:{line}: no domain/session_id: not an eval samples.jsonl (written "
                "by `bundlekd eval`)"
            )
        scores = row.get("scores") or {}
        value = scores.get(SCORE) if isinstance(scores, dict) else "?"
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise DataError(f"{samples}:{line}: scores.{SCORE} is {value!r}, not a number")
    results = samples.parent / "results.json"
    try:
        split = read_json(results).get("sources", {}).get("split")
    except (DataError, AttributeError):
        return None
    return split if isinstance(split, str) else None


def utility_lines(
    ranked: Sequence[ItemUtility], texts: dict[str, str], *, top: int, min_sessions: int
) -> list[str]:
    """Printable lines: up to `top` items that helped (utility > 0) and up to `top` that hurt
    (utility < 0), each list from its own end; an item is never in both."""
    helpful = [u for u in ranked if u.utility > 0][:top]
    harmful = sorted((u for u in ranked if u.utility < 0), key=lambda u: u.utility)[:top]
    lines = []
    for title, items in (("most helpful", helpful), ("most harmful", harmful)):
        lines.append(
            f"{title} ({len(items)} of {len(ranked)} items used in >= {min_sessions} sessions)"
        )
        for item in items:
            text = " ".join(texts.get(item.item_id, "?").split())[:48]  # 80 columns
            lines.append(f"  {item.utility:+.3f}  n={item.sessions:<4} {item.item_id[:12]}  {text}")
        if not items:
            lines.append("  -")
    return lines
