"""A prediction line says `parsed` (the output could be read), never `valid`: the evaluator's
valid-output rate is the only "valid". Files written before the rename still read."""

from __future__ import annotations

import json
from pathlib import Path

from bundlekd.data.predictions_jsonl import prediction_to_json, read_predictions
from bundlekd.data.schema import Bundle, Prediction


def test_lines_are_written_with_parsed_and_old_valid_lines_still_read(tmp_path: Path) -> None:
    row = prediction_to_json(
        Prediction(session_id="s1", domain="food", bundles=(Bundle(items=("a", "b")),))
    )
    assert "valid" not in row
    assert row["parsed"] is True

    path = tmp_path / "old.jsonl"
    old = [
        {"session_id": "s1", "domain": "food", "bundles": [], "valid": False, "raw": "oops"},
        {"session_id": "s2", "domain": "food", "bundles": [], "valid": True},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in old), encoding="utf-8")
    assert [p.parsed for p in read_predictions(path)] == [False, True]
