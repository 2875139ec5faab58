"""Choosing the tool's grouping settings reads no test label (issue 21: fit on train, choose on
val, report on test): the same KB fitted from two sources that differ only in the test
sessions' bundles gives the same settings and the same val scores."""

from __future__ import annotations

from pathlib import Path

from bundlekd.app.tool_fitting import fit_tool_as
from bundlekd.data.schema import Bundle
from bundlekd.data.sessions_jsonl import write_sessions
from bundlekd.data.sources import load_sample
from bundlekd.knowledge_base.distill.runner import distill
from bundlekd.knowledge_base.kb import KnowledgeBase


def test_test_labels_cannot_change_the_chosen_settings(tmp_path: Path) -> None:
    sessions = load_sample().sessions
    honest, scrambled = tmp_path / "honest.jsonl", tmp_path / "scrambled.jsonl"
    write_sessions(honest, sessions)
    # every test session's gold becomes "all items in one bundle"
    changed = [
        s.model_copy(
            update={"bundles": (Bundle(items=tuple(i.item_id for i in s.items), intent="all"),)}
        )
        if s.split == "test"
        else s
        for s in sessions
    ]
    assert changed != sessions
    write_sessions(scrambled, changed)
    train = [s for s in sessions if s.split == "train"]
    kb = KnowledgeBase.create(tmp_path / "kb", embedder="hashing", index="numpy")
    distill(train, kinds=["exemplar"], kb_dir=kb.kb_dir, kb=kb)

    chosen = []
    for source in (honest, scrambled):
        fit = {"source": str(source), "split": "train", "scorer": "learned", "objective": "gjs"}
        tool = fit_tool_as(kb, fit, train=train)
        chosen.append((tool.settings, tool.metadata["val_scores"], tool.metadata["chosen_by"]))
    assert chosen[0] == chosen[1]
    assert chosen[0][2]["objective"] == "gjs"
