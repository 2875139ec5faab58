"""Shared fixtures: real-data location, isolation from the user's environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two test workers on two cores: one thread each, or OpenMP threads spin-wait on each
    # other (set before torch loads; subprocesses inherit it).
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "BUNDLEKD_NUM_THREADS"):
        os.environ.setdefault(_name, "1")


@pytest.fixture
def data_dir() -> Path:
    """The real BundleRec/AICL data (BUNDLEKD_DATA_DIR), or skip with the reason."""
    value = os.environ.get("BUNDLEKD_DATA_DIR")
    if not value:
        pytest.skip(
            "BUNDLEKD_DATA_DIR is unset: real-data test skipped (CI sets ../shared/data/bundles)"
        )
    path = Path(value)
    if not (path / "electronic").is_dir():
        pytest.skip(f"BUNDLEKD_DATA_DIR={value} does not contain the bundle datasets")
    return path


@pytest.fixture(autouse=True)
def _isolate_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep API keys out of tests; keep the model cache shared (converting the model is slow)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path_factory.getbasetemp() / "mpl"))


@pytest.fixture(scope="session")
def learned_sample_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped sample's training exemplars (hashing embedder, numpy index) with the
    learned grouping tool fitted on train and tuned on val. Read-only: copy it to write."""
    from bundlekd.app.tool_fitting import fit_tool
    from bundlekd.data.sources import load_sample
    from bundlekd.knowledge_base.distill.runner import distill
    from bundlekd.knowledge_base.kb import KnowledgeBase

    kb_dir = tmp_path_factory.mktemp("learned-sample") / "kb"
    dataset = load_sample()
    kb = KnowledgeBase.create(kb_dir, embedder="hashing", index="numpy")
    distill(dataset.split("train"), kinds=["exemplar"], kb_dir=kb_dir, kb=kb)
    fit_tool(kb, dataset.split("train"), dataset.split("val"), kb.embedder, scorer="learned")
    return kb_dir
