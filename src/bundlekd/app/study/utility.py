"""Knowledge utility: credit each knowledge item from a run's per-session logs.

For every scored session, the items the prediction used (`knowledge_ids`: the retrieved items of
an ICL prompt, the exemplars whose intents named the tool's groups) share the session's strict
precision minus the mean over the sessions of its domain. An item's utility is the mean of
those credits over the sessions that used it: positive items sat in sessions that went better
than usual, negative ones in sessions that went worse. It is a correlation, not a causal
effect; pruning on it must be judged on val (a run on the val split), never on test.

For the grouping tool, `knowledge_ids` are the exemplars that named its groups, not the ones
that decided them: its exemplars are credited with the hits and misses their pair evidence
decided by `bundlekd.app.tool_credit` (`bundlekd kb prune --dry-run` lists them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bundlekd.errors import DataError
from bundlekd.files import iter_jsonl


@dataclass(frozen=True)
class ItemUtility:
    item_id: str
    sessions: int
    utility: float  # mean (session strict P - domain mean) over the sessions that used it


def knowledge_utility(predictions: Path, samples: Path, min_sessions: int = 2) -> list[ItemUtility]:
    """Items used in at least `min_sessions` scored sessions, most helpful first.

    Args:
        predictions: a predictions JSONL (its `knowledge_ids`).
        samples: the evaluator's `samples.jsonl` of the same predictions.

    Raises:
        DataError: a file is missing, or the two share no session.
    """
    for path in (predictions, samples):
        if not path.is_file():
            raise DataError(f"{path}: not found")
    used = {
        (str(row.get("domain", "")), str(row["session_id"])): list(row.get("knowledge_ids") or [])
        for _, row in iter_jsonl(predictions)
    }
    scores: dict[tuple[str, str], float] = {}
    for _, row in iter_jsonl(samples):
        precision = (row.get("scores") or {}).get("precision_2025")
        if precision is not None:
            scores[(str(row["domain"]), str(row["session_id"]))] = float(precision)
    shared = [key for key in scores if key in used]
    if not shared:
        raise DataError(f"{predictions} and {samples} share no scored session")
    by_domain: dict[str, list[float]] = defaultdict(list)
    for key in shared:
        by_domain[key[0]].append(scores[key])
    mean = {d: sum(v) / len(v) for d, v in by_domain.items()}
    credits: dict[str, list[float]] = defaultdict(list)
    for key in shared:
        for item_id in dict.fromkeys(used[key]):
            credits[item_id].append(scores[key] - mean[key[0]])
    ranked = [
        ItemUtility(item_id, len(values), sum(values) / len(values))
        for item_id, values in credits.items()
        if len(values) >= min_sessions
    ]
    return sorted(ranked, key=lambda u: (-u.utility, -u.sessions, u.item_id))


def utility_report(
    ranked: list[ItemUtility], texts: dict[str, str], *, top: int, min_sessions: int
) -> list[str]:
    """Printable lines: the `top` most helpful and most harmful items, with their texts."""
    lines = []
    helpful, harmful = ranked[:top], ranked[::-1][:top]
    for title, items in (("most helpful", helpful), ("most harmful", harmful)):
        lines.append(f"{title} ({len(ranked)} items used in >= {min_sessions} sessions)")
        for item in items:
            text = " ".join(texts.get(item.item_id, "?").split())[:48]  # 80 columns
            lines.append(f"  {item.utility:+.3f}  n={item.sessions:<4} {item.item_id[:12]}  {text}")
    return lines
