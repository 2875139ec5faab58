"""Knowledge utility: items credited from the per-session scores of the sessions using them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundlekd.app.study.utility import knowledge_utility
from bundlekd.errors import DataError


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_items_in_better_sessions_rank_first(tmp_path: Path) -> None:
    used = {"1": ["good", "both"], "2": ["good", "both"], "3": ["bad", "both"], "4": ["bad"]}
    precision = {"1": 1.0, "2": 1.0, "3": 0.0, "4": 0.0}  # domain mean 0.5
    predictions = _jsonl(
        tmp_path / "p.jsonl",
        [{"domain": "food", "session_id": s, "knowledge_ids": ids} for s, ids in used.items()],
    )
    samples = _jsonl(
        tmp_path / "s.jsonl",
        [
            {"domain": "food", "session_id": s, "scores": {"precision_2025": p}}
            for s, p in precision.items()
        ],
    )
    ranked = knowledge_utility(predictions, samples)
    assert [(u.item_id, u.sessions) for u in ranked] == [("good", 2), ("both", 3), ("bad", 2)]
    assert [round(u.utility, 3) for u in ranked] == [0.5, 0.167, -0.5]
    assert knowledge_utility(predictions, samples, min_sessions=3)[0].item_id == "both"
    with pytest.raises(DataError, match="share no scored session"):
        knowledge_utility(predictions, _jsonl(tmp_path / "e.jsonl", []))
