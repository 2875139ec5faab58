"""`bundlekd experiment run/report` and `config show` take bad input well (issue 21.5):
one line and exit code 1, the same checks in `--dry-run` as in the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bundlekd.cli import app


def _invoke(*args: str, code: int = 1) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    if code:
        assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    return " ".join(result.output.split())


def _grid(tmp_path: Path, **fields: object) -> Path:
    spec = {
        "name": "probe",
        "source": "sample",
        "grid": {"formats": [[]], "utilization": ["memory"]},
        **fields,
    }
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_a_dry_run_refuses_base_settings_the_run_refuses(tmp_path: Path) -> None:
    grid = _grid(tmp_path, base={"kb.tool_scorer": "nonsense"})
    run = ["experiment", "run", str(grid), "--out", str(tmp_path / "r")]
    message = _invoke(*run, "--dry-run")
    assert "kb.tool_scorer" in message
    assert "[from grid probe base]" in message
    assert "[from cli]" not in message
    assert "to run" not in message
    assert _invoke(*run) == message  # the run refuses it the same way
    assert not (tmp_path / "r").exists()  # before any work


def test_a_dry_run_refuses_a_folder_of_other_settings(tmp_path: Path) -> None:
    from bundlekd.app.study.grid import load_study
    from bundlekd.app.study.runner import _write_study, plan

    grid, out = _grid(tmp_path), tmp_path / "r"
    study = load_study(grid)
    _write_study(study, out, plan(study, out))
    (out / "cells" / "c1").mkdir(parents=True)
    (out / "cells" / "c1" / "result.json").write_text("{}", encoding="utf-8")
    ok = _invoke("experiment", "run", str(grid), "--out", str(out), "--dry-run", code=0)
    assert "1 cells, 1 to run" in ok
    message = _invoke(
        "experiment", "run", str(grid), "--out", str(out), "--dry-run", "--sample", "2"
    )
    assert "holds cells run with other grid settings (changed: sample)" in message


def test_a_negative_sample_or_empty_domains_are_one_line(tmp_path: Path) -> None:
    grid = _grid(tmp_path)
    out = str(tmp_path / "r")
    assert "--sample must be a positive number" in _invoke(
        "experiment", "run", str(grid), "--out", out, "--sample", "-1", "--dry-run"
    )
    empty = _grid(tmp_path, domains=[])
    assert "invalid grid: domains:" in _invoke("experiment", "run", str(empty), "--out", out)
    assert not Path(out).exists()


def _run_folder(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    (out / "cells" / "c1").mkdir(parents=True)
    return out


def test_a_report_of_a_corrupt_study_record_is_one_line(tmp_path: Path) -> None:
    out = _run_folder(tmp_path)
    (out / "study.json").write_text('{"study": {', encoding="utf-8")
    message = _invoke("experiment", "report", str(out), "--out", str(tmp_path / "rep"))
    assert "study.json: invalid JSON at line 1" in message
    (out / "study.json").write_text('{"cells": []}', encoding="utf-8")
    message = _invoke("experiment", "report", str(out), "--out", str(tmp_path / "rep"))
    assert "study.json: not a study record" in message


def test_a_report_of_a_corrupt_cell_result_is_one_line(tmp_path: Path) -> None:
    out = _run_folder(tmp_path)
    study = {"study": {"name": "probe", "question": "smoke", "domains": ["food"]}, "machine": {}}
    (out / "study.json").write_text(json.dumps(study), encoding="utf-8")
    (out / "cells" / "c1" / "result.json").write_text('{"tables": ', encoding="utf-8")
    message = _invoke("experiment", "report", str(out), "--out", str(tmp_path / "rep"))
    assert "c1/result.json: invalid JSON" in message
    assert "to run that cell again" in message


def test_the_report_command_does_not_write_into_the_repository_docs_by_default() -> None:
    text = _invoke("experiment", "report", "--help", code=0)
    assert "default: runs/report" in text


def test_config_show_warns_on_unknown_list_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUNDLEKD_DISTILL__KINDS", "pattern,bogus")
    monkeypatch.setenv("BUNDLEKD_KB__TOOL_FEATURES", "cosine,memry")
    text = _invoke("config", "show", "--format", "yaml", code=0)
    assert "warning: distill.kinds: unknown 'bogus' (known: pattern, rule, thought" in text
    assert "warning: kb.tool_features: unknown 'memry'" in text
    monkeypatch.setenv("BUNDLEKD_DISTILL__KINDS", "pattern,rule")
    monkeypatch.delenv("BUNDLEKD_KB__TOOL_FEATURES")
    assert "warning" not in _invoke("config", "show", "--format", "yaml", code=0)
