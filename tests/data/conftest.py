"""Fixtures of the data-layer tests: mini datasets in the real on-disk formats."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_builders import write_aicl, write_bundlerec


@pytest.fixture
def bundlerec_dir(tmp_path: Path) -> Path:
    return write_bundlerec(tmp_path / "electronic")


@pytest.fixture
def aicl_root(tmp_path: Path) -> Path:
    return write_aicl(tmp_path / "data", npy=True)
