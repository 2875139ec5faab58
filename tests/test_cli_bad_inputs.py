"""Bad input never prints a traceback: non-UTF-8 text, a 100k-deep JSON line, a folder where
a file is expected, an --out that cannot be written. One line naming the file, exit code 1,
nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.data.sessions_jsonl import session_to_json
from bundlekd.data.sources import load_sample

DEEP = "[" * 100_000 + "]" * 100_000


def _session_line() -> str:
    return json.dumps(session_to_json(load_sample().sessions[0]))


def _invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    return " ".join(result.output.split())


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(_session_line().encode() + b"\n" + b'{"session_id": "caf\xe9"}\n')
    deep = tmp_path / "deep.jsonl"
    deep.write_text(DEEP + "\n")
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    return {"latin1": latin1, "deep": deep, "folder": folder}


def test_eval_names_the_file_and_the_problem(bad_files: dict[str, Path], tmp_path: Path) -> None:
    out = ["--no-intents", "--out", str(tmp_path / "ev")]
    assert "latin1.jsonl:2: not UTF-8 text" in _invoke(
        "eval", str(bad_files["latin1"]), "--gold", "sample", *out
    )
    assert "deep.jsonl:1: JSON nested too deeply to read" in _invoke(
        "eval", str(bad_files["deep"]), "--gold", "sample", *out
    )
    predictions = tmp_path / "p.jsonl"
    predictions.write_text('{"session_id": "e017", "domain": "electronic"}\n')
    assert "folder.jsonl: is a directory" in _invoke(
        "eval", str(predictions), "--gold", str(bad_files["folder"]), *out
    )
    assert "is a directory" in _invoke("eval", str(predictions), "--gold", str(tmp_path), *out)
    assert "latin1.jsonl:2: not UTF-8 text" in _invoke(
        "eval", str(predictions), "--gold", str(bad_files["latin1"]), *out
    )
    (tmp_path / "a-file").write_text("x")
    message = _invoke(
        "eval", str(predictions), "--gold", "sample", "--no-intents",
        "--out", str(tmp_path / "a-file" / "ev"),
    )  # fmt: skip
    assert "cannot write: Not a directory" in message
    assert "a-file is a file" in message


def test_data_validate_reports_bad_lines_instead_of_crashing(bad_files: dict[str, Path]) -> None:
    message = _invoke("data", "validate", str(bad_files["latin1"]))
    assert "latin1.jsonl:2: not UTF-8 text" in message
    assert "latin1.jsonl:1" not in message  # the good line is fine
    assert "deep.jsonl:1: JSON nested too deeply to read" in _invoke(
        "data", "validate", str(bad_files["deep"])
    )
    assert "folder.jsonl: is a directory" in _invoke("data", "validate", str(bad_files["folder"]))


def test_generate_sessions_and_kb_add_name_the_bad_file(
    bad_files: dict[str, Path], tmp_path: Path
) -> None:
    for name, expected in (("latin1", "latin1.jsonl:2: not UTF-8 text"), ("deep", "nested too")):
        message = _invoke(
            "generate", "--sessions", str(bad_files[name]), "--mode", "zero_shot",
            "--out", str(tmp_path / f"out-{name}.jsonl"),
        )  # fmt: skip
        assert expected in message
        assert not (tmp_path / f"out-{name}.jsonl").exists()

    row = {
        "kind": "rule",
        "text": "Bags go with filters",
        "domain": "d",
        "source_splits": ["train"],
    }
    rows = tmp_path / "rows.jsonl"
    rows.write_bytes(json.dumps(row).encode() + b"\n" + b'{"text": "caf\xe9"}\n')
    message = _invoke("kb", "add", str(tmp_path / "kb"), str(rows), "--embedder", "hashing")
    assert "rows.jsonl:2: not UTF-8 text" in message
    message = _invoke("kb", "add", str(tmp_path / "kb"), str(bad_files["deep"]))
    assert "deep.jsonl:1: JSON nested too deeply to read" in message
    assert not (tmp_path / "kb").exists()  # refused before the KB was created
