"""Labelled sessions as knowledge (issue 22 item 1): a session's bundles become its exemplars
in one undoable operation, with provenance, through the leakage guard; the tool's memory takes
them without a refit, and the labelled session is answered with its label.

The shipped sample, the hashing embedder, the learned scorer, numpy index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.data.schema import Bundle, Item, Session
from bundlekd.data.sources import load_sample
from bundlekd.errors import DataError, LeakageError
from bundlekd.knowledge_base.distill.labelled import Provenance
from bundlekd.knowledge_base.kb import KnowledgeBase

RUNNER = CliRunner()


@pytest.fixture
def kb_dir(learned_sample_kb: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "kb"
    shutil.copytree(learned_sample_kb, copy)
    return copy


def _own(session_id: str = "mine-1", bundles: tuple[Bundle, ...] | None = None) -> Session:
    """A session of one's own (no split) with a train session's titles."""
    train = next(s for s in load_sample().split("train") if s.domain == "electronic")
    items = tuple(Item(item_id=f"x{k}", title=i.title) for k, i in enumerate(train.items))
    if bundles is None:
        bundles = (Bundle(items=tuple(i.item_id for i in items), intent="the whole kit"),)
    return Session(session_id=session_id, domain="electronic", items=items, bundles=bundles)


def _answer(kb_dir: Path, session: Session) -> list[tuple[tuple[int, ...], str]]:
    tool = KnowledgeBase.open(kb_dir, read_only=True).grouping_tool()
    return [(p.positions, p.intent) for p in tool.propose([session.public()])[0]]


def test_a_label_is_the_next_answer_one_operation_and_rollback_restores(kb_dir: Path) -> None:
    session = _own()
    before = _answer(kb_dir, session)
    kb = KnowledgeBase.open(kb_dir)
    result = kb.relabel(session, Provenance("chat", "ana"))
    assert result.counts() == {"added": 1, "restored": 0, "unchanged": 0, "superseded": 0}
    assert result.seq == kb.history()[-1]["seq"]
    assert kb.history()[-1]["op"] == "feedback"
    (item,) = [kb.get(i) for i in result.ids]
    assert item is not None
    assert item.stats["feedback"]["author"] == "ana"
    assert item.stats["feedback"]["source"] == "chat"
    assert item.source_splits == ("train",)
    assert item.teacher == "feedback"
    assert _answer(kb_dir, session) == [(tuple(range(len(session.items))), "the whole kit")]

    kb.rollback()
    assert _answer(kb_dir, session) == before


def test_a_new_label_supersedes_the_old_and_an_old_label_comes_back(kb_dir: Path) -> None:
    first = _own()
    ids = [i.item_id for i in first.items]
    second = _own(bundles=(Bundle(items=tuple(ids[:2]), intent="just two"),))
    kb = KnowledgeBase.open(kb_dir)
    one = kb.relabel(first, Provenance("api", "ana"))
    two = kb.relabel(second, Provenance("api", "bo"))
    assert two.superseded == one.ids
    assert len(two.added) == 1
    assert kb.get(one.ids[0]).status == "superseded"  # type: ignore[union-attr]
    assert _answer(kb_dir, first) == [((0, 1), "just two")]
    back = kb.relabel(first, Provenance("api", "ana"))
    assert back.restored == one.ids
    assert back.superseded == two.added
    again = kb.relabel(first, Provenance("api", "ana"))
    assert not again.changed
    assert again.seq is None
    seqs = [e["seq"] for e in kb.history() if e["op"] == "feedback"]
    assert len(seqs) == 3  # the no-op is not an operation


def test_a_label_of_a_training_session_replaces_its_training_bundles(kb_dir: Path) -> None:
    kb = KnowledgeBase.open(kb_dir)
    train = next(s for s in load_sample().split("train") if s.domain == "electronic")
    old = [
        i.id
        for i in kb.items(kind="exemplar")
        if train.session_id in i.source_session_ids and i.domain == train.domain
    ]
    assert old
    whole = Bundle(items=tuple(i.item_id for i in train.items), intent="all of it")
    result = kb.relabel(train.model_copy(update={"bundles": (whole,)}), Provenance("file"))
    assert sorted(result.superseded) == sorted(old)
    active = [i for i in kb.items(kind="exemplar") if train.session_id in i.source_session_ids]
    assert [i.id for i in active if i.status == "active" and i.domain == train.domain] == (
        result.ids
    )


def test_accepting_training_bundles_makes_them_a_persons_label_and_recall_answers_all(
    kb_dir: Path,
) -> None:
    kb = KnowledgeBase.open(kb_dir)
    train = next(s for s in load_sample().split("train") if s.session_id == "e010")
    first, *rest = train.bundles or ()
    merged = Bundle(items=first.items + rest[0].items, intent="kit")
    label = train.model_copy(update={"bundles": (merged, *rest[1:])})
    result = kb.relabel(label, Provenance("chat"))
    assert len(result.superseded) == len(train.bundles or ())
    assert len(result.added) == 1 + len(rest[1:])
    answer = _answer(kb_dir, train)
    assert len(answer) == 1 + len(rest[1:])
    assert "kit" in {intent for _, intent in answer}
    assert not kb.relabel(label, Provenance("chat")).changed


def test_repeated_titles_are_recalled_by_the_labelled_item_ids(kb_dir: Path) -> None:
    items = (
        Item(item_id="a", title="Oat milk 1 l"),
        Item(item_id="b", title="Oat milk 1 l"),
        Item(item_id="c", title="Granola, honey"),
        Item(item_id="d", title="Dish soap"),
    )
    label = (Bundle(items=("b", "c"), intent="breakfast"),)
    session = Session(session_id="rep", domain="electronic", items=items, bundles=label)
    KnowledgeBase.open(kb_dir).relabel(session, Provenance("api"))
    assert _answer(kb_dir, session) == [((1, 2), "breakfast")]
    # the same titles under other ids: the first free position of the title
    renamed = session.model_copy(
        update={"items": tuple(i.model_copy(update={"item_id": i.item_id * 2}) for i in items),
                "bundles": None}
    )  # fmt: skip
    assert _answer(kb_dir, renamed) == [((0, 2), "breakfast")]


def test_test_val_and_unlabelled_sessions_are_refused_and_nothing_is_written(
    kb_dir: Path,
) -> None:
    kb = KnowledgeBase.open(kb_dir)
    seq = kb.store.last_seq()
    sample = load_sample()
    test = sample.split("test")[0]
    val = sample.split("val")[0]
    with pytest.raises(LeakageError, match="test session"):
        kb.relabel(test, Provenance("chat"))
    with pytest.raises(LeakageError, match="val session"):
        kb.relabel(val, Provenance("chat"))
    # a known test session under another split label is still a test session
    relabelled = test.model_copy(update={"split": None})
    with pytest.raises(LeakageError):
        kb.relabel(relabelled, Provenance("api"))
    with pytest.raises(DataError, match="no bundles"):
        kb.relabel(_own(bundles=()), Provenance("api"))
    with pytest.raises(DataError, match="source"):
        Provenance("email")
    assert kb.store.last_seq() == seq


def test_kb_add_sessions_labels_a_file_and_refuses_a_test_session(
    kb_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "labelled.jsonl"
    rows = [_own("mine-1"), _own("mine-2")]
    path.write_text("".join(json.dumps(s.model_dump(mode="json")) + "\n" for s in rows))
    result = RUNNER.invoke(
        app, ["kb", "add", str(kb_dir), str(path), "--sessions", "--author", "ana"]
    )
    assert result.exit_code == 0, result.output
    assert "sessions" in result.output
    kb = KnowledgeBase.open(kb_dir, read_only=True)
    assert [e["op"] for e in kb.history()[-2:]] == ["feedback", "feedback"]
    labelled = [i for i in kb.items(kind="exemplar") if "feedback" in i.stats]
    assert {i.stats["feedback"]["author"] for i in labelled} == {"ana"}
    stats = RUNNER.invoke(app, ["kb", "stats", str(kb_dir)])
    assert "labelled_sessions" in stats.output
    counts = kb.stats()
    assert counts["labelled_sessions"] == 2
    # exemplar texts wait for the first search: every active item is indexed or deferred
    assert counts["deferred"] > 0
    assert counts["indexed"] + counts["deferred"] == counts["active"]

    bad = tmp_path / "test.jsonl"
    test = load_sample().split("test")[0]
    bad.write_text(json.dumps(test.model_dump(mode="json")) + "\n")
    seq = kb.store.last_seq()
    refused = RUNNER.invoke(app, ["kb", "add", str(kb_dir), str(bad), "--sessions"])
    assert refused.exit_code != 0
    assert "test session" in " ".join(refused.output.split())
    assert "Traceback" not in refused.output
    assert KnowledgeBase.open(kb_dir, read_only=True).store.last_seq() == seq


def test_tool_refit_after_refits_once_enough_sessions_were_labelled(
    kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bundlekd.app import feedback

    refits: list[Any] = []
    monkeypatch.setattr(
        "bundlekd.app.tool_fitting.refit_tool", lambda kb_dir, **kw: refits.append(kb_dir)
    )
    kb = KnowledgeBase.open(kb_dir)
    first = feedback.label_sessions(kb, [_own("a")], "api", refit_after=2)
    assert not first.refit
    assert first.labelled_since_fit == 1
    second = feedback.label_sessions(kb, [_own("b")], "api", refit_after=2)
    assert second.refit
    assert refits == [kb.kb_dir]
    never = feedback.label_sessions(kb, [_own("c")], "api", refit_after=0)
    assert not never.refit
