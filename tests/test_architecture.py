"""Module-size budget (STYLE.md P2) and the layer contract (import-linter)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "bundlekd"
HARD_CAP = 600


def test_no_module_exceeds_the_hard_cap() -> None:
    sizes = {p.relative_to(SRC): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    too_big = {str(p): n for p, n in sizes.items() if n > HARD_CAP}
    assert not too_big, f"modules over {HARD_CAP} lines: {too_big}"
    assert len(sizes) > 20


def test_layers_contract_is_kept() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint_imports is None:
        pytest.skip("import-linter is not installed (pip install 'bundlekd[dev]')")
    result = subprocess.run(
        [lint_imports], capture_output=True, text=True, cwd=SRC.parents[1], check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
