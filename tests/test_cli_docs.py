"""docs/cli.md is generated from the typer app and must match the CLI as it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STALE = "docs/cli.md is stale: run python scripts/gen_cli_docs.py"


def test_cli_docs_match_the_cli(tmp_path: Path) -> None:
    fresh = tmp_path / "cli.md"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_cli_docs.py"), "--output", str(fresh)],
        check=True,
        capture_output=True,
    )
    committed = ROOT / "docs" / "cli.md"
    if not committed.exists():
        pytest.fail("docs/cli.md is missing: run python scripts/gen_cli_docs.py")
    if fresh.read_text(encoding="utf-8") != committed.read_text(encoding="utf-8"):
        pytest.fail(STALE)
    assert "## `bundlekd generate`" in committed.read_text(encoding="utf-8")
