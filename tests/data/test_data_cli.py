"""`bundlekd data stats|validate|export` on the mini fixtures."""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture
def data_app(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """The `data` command group.

    While sibling CLI modules are still being written, `bundlekd/cli/__init__.py` cannot import;
    then this loads `bundlekd.cli.data` under a bare package so the group is still tested.
    """
    try:
        return importlib.import_module("bundlekd.cli.data").app
    except ImportError:
        for name in [
            m for m in sys.modules if m == "bundlekd.cli" or m.startswith("bundlekd.cli.")
        ]:
            monkeypatch.delitem(sys.modules, name)
        package = types.ModuleType("bundlekd.cli")
        package.__path__ = [str(Path(importlib.import_module("bundlekd").__file__).parent / "cli")]
        monkeypatch.setitem(sys.modules, "bundlekd.cli", package)
        module = importlib.import_module("bundlekd.cli.data")
        monkeypatch.setitem(sys.modules, "bundlekd.cli.data", module)
        return module.app


def test_stats_prints_both_tables(data_app: typer.Typer, aicl_root: Path) -> None:
    result = runner.invoke(
        data_app, ["stats", "--data-dir", str(aicl_root), "--domain", "electronic"]
    )
    assert result.exit_code == 0, result.output
    assert "Raw BundleRec release" in result.output
    assert "AICL split" in result.output
    assert "sessions with no bundle" in result.output
    assert "1 / 1 / 1" in result.output  # train / test / val


def test_stats_unknown_domain_exits_1(data_app: typer.Typer, aicl_root: Path) -> None:
    result = runner.invoke(
        data_app, ["stats", "--data-dir", str(aicl_root), "--domain", "toys", "--source", "aicl"]
    )
    assert result.exit_code == 1


def test_export_then_validate(data_app: typer.Typer, aicl_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "test.jsonl"
    args = [
        "export",
        "--source",
        "aicl",
        "--domain",
        "electronic",
        "--split",
        "test",
        "--out",
        str(out),
        "--data-dir",
        str(aicl_root),
    ]
    result = runner.invoke(data_app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["session_id"], r["split"]) for r in rows] == [("2", "test")]
    assert all("categories" not in item for r in rows for item in r["items"])
    result = runner.invoke(data_app, ["validate", str(out)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_export_public_drops_ground_truth(
    data_app: typer.Typer, aicl_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "train.jsonl"
    args = [
        "export",
        "--domain",
        "electronic",
        "--split",
        "train",
        "--public",
        "--out",
        str(out),
        "--data-dir",
        str(aicl_root),
    ]
    assert runner.invoke(data_app, args).exit_code == 0
    row = json.loads(out.read_text())
    assert "bundles" not in row
    assert all("categories" not in item for item in row["items"])


def test_validate_bad_file_exits_1(data_app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"session_id": "1", "domain": "food", "items": []}\n')
    result = runner.invoke(data_app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "has no items" in result.output
