"""Shared by the KB safety tests (issue 25): a small prune-ready KB and every KB writer.

The KB: the shipped sample, exemplars, the learned tool, the hashing embedder, the numpy index
(a distill takes ~2 s; tests copy it). Each writer is the API call its CLI command makes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore

RUNNER = CliRunner()

DISTILL = {
    "data.source": "sample",
    "distill.kinds": ["exemplar"],
    "kb.tool_scorer": "learned",
    "embedder.name": "hashing",
    "kb.index": "numpy",
}


def cli(*args: str, code: int | None = 0) -> str:
    """The command's output, whitespace joined (rich wraps long lines)."""
    result = RUNNER.invoke(app, list(args), env={"COLUMNS": "200"})
    if code is not None:
        assert result.exit_code == code, (result.output, result.exception)
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def distill(kb_dir: Path, ratio: float = 1.0) -> None:
    from bundlekd.app.distillation import run_distillation
    from bundlekd.config import load_config

    overrides = {**DISTILL, "kb.dir": str(kb_dir), "distill.ratio": ratio}
    run_distillation(load_config(None, overrides))


def copy_kb(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def rule(text: str) -> KnowledgeItem:
    return KnowledgeItem.new("rule", text, "food", source_splits=["train"])


def add(kb_dir: Path, text: str = "Tea goes with a mug.") -> None:
    KnowledgeBase.open(kb_dir).add([rule(text)])


def remove(kb_dir: Path, which: int = 0) -> None:
    kb = KnowledgeBase.open(kb_dir)
    exemplars = sorted(i.id for i in kb.items() if i.kind == "exemplar")
    kb.remove([exemplars[which]])


def rollback(kb_dir: Path) -> None:
    KnowledgeBase.open(kb_dir).rollback()


def refit(kb_dir: Path) -> None:
    from bundlekd.app.tool_fitting import refit_tool

    refit_tool(kb_dir)


def prune(kb_dir: Path) -> None:
    from bundlekd.app.pruning import prune_kb

    prune_kb(kb_dir, top=1)


WRITERS: dict[str, Callable[[Path], None]] = {
    "add": add,
    "remove": remove,
    "rollback": rollback,
    "refit-tool": refit,
    "prune": prune,
    "distill": distill,
}


def check_consistent(kb_dir: Path) -> None:
    """What must hold after any sequence of writes: strict-JSON history with increasing
    numbers, a parseable knowledge.jsonl, the kept snapshots of the newest real changes, no
    scratch copy, and a tool that matches the knowledge after a tool operation."""
    store = KnowledgeStore(kb_dir)
    store.load()
    lines = (kb_dir / "history.jsonl").read_text().splitlines()
    events = [json.loads(line, parse_constant=_refuse) for line in lines]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), seqs
    real = [e["snapshot"] for e in events if e["snapshot"] is not None]
    assert set(real[-store.keep_snapshots :]) <= set(store.snapshots())
    assert not (kb_dir / ".scratch").exists()
    if (events and events[-1]["op"] in ("refit-tool", "fit-tool")) or (
        events and events[-1]["op"] == "prune" and events[-1]["summary"]["decision"] == "kept"
    ):
        assert KnowledgeBase.open(kb_dir, read_only=True).tool_drift() is None


def _refuse(name: str) -> float:
    raise AssertionError(f"history.jsonl holds {name}: not strict JSON")
