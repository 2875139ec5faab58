"""Sessions and predictions JSONL: round trips, precise errors, resume after an interruption."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bundlekd.data.predictions_jsonl import (
    append_prediction,
    finished_keys,
    read_predictions,
    write_predictions,
)
from bundlekd.data.schema import Bundle, Item, Prediction, Session
from bundlekd.data.sessions_jsonl import read_sessions, session_to_json, write_sessions
from bundlekd.errors import DataError


def _session(session_id: str = "s1", **extra: object) -> Session:
    items = (
        Item(item_id="a", title="Case", categories=(("Electronics", "Cases, Sleeves"),)),
        Item(item_id="b", title="Sleeve"),
        Item(item_id="c", title="Cable"),
    )
    return Session(
        session_id=session_id,
        domain="electronic",
        items=items,
        bundles=(Bundle(items=("a", "b"), intent="Protection"),),
        **extra,
    )  # type: ignore[arg-type]


def _write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_sessions_round_trip_and_optional_keys(tmp_path: Path) -> None:
    sessions = [_session("s1", split="train"), _session("s2").public()]
    path = tmp_path / "sessions.jsonl"
    assert write_sessions(path, sessions) == 2
    assert read_sessions(path) == sessions
    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert first["items"][0]["categories"] == [["Electronics", "Cases, Sleeves"]]
    assert first["split"] == "train"
    assert set(second) == {"session_id", "domain", "items"}  # no bundles/split/categories keys
    assert "categories" not in session_to_json(sessions[1])["items"][0]


def test_truncated_json_line_names_file_and_line(tmp_path: Path) -> None:
    good = session_to_json(_session())
    path = _write_lines(tmp_path / "s.jsonl", [good, json.dumps(good)[:40]])
    with pytest.raises(DataError, match=r"s\.jsonl:2: invalid JSON"):
        read_sessions(path)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda o: o["items"][1].pop("title"),
            r"s\.jsonl:1: field items\[1\]\.title: Field required",
        ),
        (lambda o: o.update(items=[]), r"s\.jsonl:1: .*session 's1' has no items"),
        (
            lambda o: o["bundles"][0].update(items=["a", "zz"]),
            r"s\.jsonl:1: .*not in the session: \['zz'\]",
        ),
        (
            lambda o: o.update(colour="red"),
            r"s\.jsonl:1: field colour: Extra inputs are not permitted",
        ),
        (lambda o: o.update(split="dev"), r"s\.jsonl:1: field split: Input should be"),
        (
            lambda o: o["bundles"][0].update(items=["a", "a"]),
            r"field bundles\[0\]: .*duplicate items",
        ),
    ],
)
def test_invalid_session_names_file_line_and_field(tmp_path: Path, mutate, expected: str) -> None:
    obj = session_to_json(_session())
    mutate(obj)
    path = _write_lines(tmp_path / "s.jsonl", [obj])
    with pytest.raises(DataError, match=expected):
        read_sessions(path)


def test_duplicate_session_key_is_an_error(tmp_path: Path) -> None:
    obj = session_to_json(_session())
    path = _write_lines(tmp_path / "s.jsonl", [obj, "", obj])
    with pytest.raises(
        DataError, match=r"s\.jsonl:3: duplicate session electronic/s1 \(first at line 1\)"
    ):
        read_sessions(path)


def _prediction(session_id: str) -> Prediction:
    return Prediction(
        session_id=session_id,
        domain="food",
        bundles=(Bundle(items=("x", "y"), intent="Snacks"),),
        raw="{}",
        tokens=7,
    )


def test_predictions_round_trip_and_finished_keys(tmp_path: Path) -> None:
    path = tmp_path / "pred.jsonl"
    assert finished_keys(path) == set()
    assert write_predictions(path, [_prediction("1"), _prediction("2")]) == 2
    assert read_predictions(path) == [_prediction("1"), _prediction("2")]
    assert finished_keys(path) == {("food", "1"), ("food", "2")}


def test_truncated_last_line_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "pred.jsonl"
    write_predictions(path, [_prediction("1")])
    with path.open("a") as handle:
        handle.write(json.dumps(_prediction("2").model_dump(mode="json"))[:30])
    with caplog.at_level(logging.WARNING):
        assert read_predictions(path) == [_prediction("1")]
    assert "pred.jsonl:2: ignoring a truncated last line" in caplog.text
    assert finished_keys(path) == {("food", "1")}
    # resuming: the partial tail is cut before appending, so no line is glued onto it
    append_prediction(path, _prediction("2"))
    assert read_predictions(path) == [_prediction("1"), _prediction("2")]


def test_append_keeps_a_complete_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "pred.jsonl"
    path.write_text(json.dumps(_prediction("1").model_dump(mode="json")))
    append_prediction(path, _prediction("2"))
    assert [p.session_id for p in read_predictions(path)] == ["1", "2"]


def test_malformed_middle_line_is_a_data_error(tmp_path: Path) -> None:
    row = _prediction("1").model_dump(mode="json")
    path = _write_lines(tmp_path / "pred.jsonl", [row, '{"session_id": "2", ', row])
    with pytest.raises(DataError, match=r"pred\.jsonl:2: invalid JSON"):
        read_predictions(path)


def test_schema_error_on_the_last_line_is_not_forgiven(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "pred.jsonl", [{"session_id": "1", "tokens": "many"}])
    with pytest.raises(
        DataError, match=r"pred\.jsonl:1: field tokens: Input should be a valid integer"
    ):
        read_predictions(path)
