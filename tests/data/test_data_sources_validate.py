"""Session sources (sample / aicl / file) and the sessions-file validator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundlekd.data import sources
from bundlekd.data.schema import Bundle, Item, Session
from bundlekd.data.sessions_jsonl import session_to_json, write_sessions
from bundlekd.data.sources import data_dir_from_env, load_sample, load_sessions
from bundlekd.data.validate import validate_sessions_file
from bundlekd.errors import DataError


def _session(sid: str, domain: str, split: str | None, categories: bool = False) -> Session:
    cats = (("Food", "Snacks"),) if categories else None
    items = (Item(item_id="a", title="Chips", categories=cats), Item(item_id="b", title="Dip"))
    return Session(
        session_id=sid,
        domain=domain,
        items=items,
        bundles=(Bundle(items=("a", "b"), intent="Party"),),
        split=split,
    )  # type: ignore[arg-type]


@pytest.fixture
def sessions_file(tmp_path: Path) -> Path:
    path = tmp_path / "mine.jsonl"
    write_sessions(
        path,
        [
            _session("1", "food", "train"),
            _session("2", "food", "test"),
            _session("3", "toys", "val"),
        ],
    )
    return path


def test_data_dir_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BUNDLEKD_DATA_DIR", raising=False)
    assert data_dir_from_env() is None
    monkeypatch.setenv("BUNDLEKD_DATA_DIR", str(tmp_path))
    assert data_dir_from_env() == tmp_path


def test_load_sample_reads_the_package_file() -> None:
    dataset = load_sample()
    assert dataset.name == "sample"
    assert len(dataset.sessions) > 0
    assert {s.split for s in dataset.sessions} <= {"train", "val", "test"}
    assert all(s.split is not None for s in dataset.sessions)


def test_missing_sample_file_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "SAMPLE_FILE", "missing.jsonl")
    with pytest.raises(DataError, match=r"sample_data/missing\.jsonl is missing"):
        load_sample()


def test_load_sessions_from_a_file_filters_domain_and_split(sessions_file: Path) -> None:
    assert [s.session_id for s in load_sessions(str(sessions_file))] == ["1", "2", "3"]
    assert [
        s.session_id for s in load_sessions(str(sessions_file), domains=["food"], split="test")
    ] == ["2"]
    with pytest.raises(
        DataError, match=r"unknown domain\(s\) \['clothing'\] .*valid choices are food, toys"
    ):
        load_sessions(str(sessions_file), domains=["clothing"])
    with pytest.raises(
        DataError, match="unknown split 'dev': valid choices are train, val, test, all"
    ):
        load_sessions(str(sessions_file), split="dev")


def test_load_sessions_from_aicl(aicl_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUNDLEKD_DATA_DIR", str(aicl_root))
    test = load_sessions("aicl", domains=["electronic"], split="test")
    assert [s.session_id for s in test] == ["2"]
    explicit = load_sessions("aicl", domains=["electronic"], split="val", data_dir=aicl_root)
    assert [s.split for s in explicit] == ["val"]


def test_load_sessions_errors_list_the_choices(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BUNDLEKD_DATA_DIR", raising=False)
    with pytest.raises(
        DataError, match="no data directory: pass --data-dir or set BUNDLEKD_DATA_DIR"
    ):
        load_sessions("aicl")
    with pytest.raises(DataError, match="data directory not found"):
        load_sessions("aicl", data_dir=tmp_path / "absent")
    with pytest.raises(DataError, match="unknown source 'amazon': valid choices are sample, aicl"):
        load_sessions("amazon")
    with pytest.raises(DataError, match="valid choices are electronic, clothing, food"):
        load_sessions("aicl", domains=["toys"], data_dir=tmp_path)
    with pytest.raises(DataError, match=r"absent\.jsonl: file not found"):
        load_sessions(str(tmp_path / "absent.jsonl"))


def test_validate_reports_every_bad_line_and_leak_warnings(tmp_path: Path) -> None:
    good = session_to_json(_session("1", "food", "train", categories=True))
    leaky = session_to_json(_session("2", "food", "test", categories=True))
    empty = {**good, "session_id": "3", "items": [], "bundles": []}
    path = tmp_path / "check.jsonl"
    lines = [
        json.dumps(good),
        json.dumps(leaky),
        json.dumps(empty),
        '{"session_id": ',
        json.dumps(good),
    ]
    path.write_text("\n".join(lines) + "\n")
    report = validate_sessions_file(path)
    assert not report.ok
    assert (report.sessions, report.items, report.bundles) == (2, 4, 2)
    assert report.by_split == {"train": 1, "test": 1}
    assert [e.split(": ")[0].rsplit(":", 1)[1] for e in report.errors] == ["3", "4", "5"]
    assert "session '3' has no items" in report.errors[0]
    assert "duplicate session food/1 (first at line 1)" in report.errors[2]
    assert len(report.warnings) == 1
    assert (
        "check.jsonl:2: session 2: categories on a test session leak the labels"
        in report.warnings[0]
    )


def test_validate_clean_file(sessions_file: Path, tmp_path: Path) -> None:
    report = validate_sessions_file(sessions_file)
    assert report.ok
    assert report.by_domain == {"food": 2, "toys": 1}
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert validate_sessions_file(empty).errors == [f"{empty}: no sessions"]
    with pytest.raises(DataError, match="file not found"):
        validate_sessions_file(tmp_path / "nope.jsonl")
