"""Fixtures of the service tests: one tiny KB (shipped sample, hashing embedder, numpy index,
tool fitted) built once per session, copied for tests that write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service needs the extra [serve]")


@pytest.fixture(scope="session")
def tiny_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bundlekd.app.tool_fitting import fit_tool
    from bundlekd.data.sources import load_sample
    from bundlekd.knowledge_base.distill.runner import distill
    from bundlekd.knowledge_base.kb import KnowledgeBase

    kb_dir = tmp_path_factory.mktemp("service") / "kb"
    dataset = load_sample()
    kb = KnowledgeBase.create(kb_dir, embedder="hashing", index="numpy")
    distill(dataset.split("train"), kinds=["exemplar", "pattern"], kb_dir=kb_dir, kb=kb)
    fit_tool(kb, dataset.split("train"), dataset.split("val"), kb.embedder)
    return kb_dir


@pytest.fixture
def kb_dir(tiny_kb: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny KB (for tests that write it)."""
    copy = tmp_path / "kb"
    shutil.copytree(tiny_kb, copy)
    return copy
