"""`bundlekd kb prune`: credit the tool's exemplars with the bundles their evidence decided,
prune the harmful ones, keep that only if val agrees, and leave the KB consistent (issue 15.5).
The shipped sample, the hashing embedder, the learned scorer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bundlekd.app import pruning
from bundlekd.app.tool_credit import _decisions, _Evidence, credit_tool
from bundlekd.cli import app
from bundlekd.data.sources import load_sample
from bundlekd.knowledge_base.grouping.features import FEATURE_NAMES, KERNEL_WINDOW, pair_features
from bundlekd.knowledge_base.grouping.tool_file import fitted_knowledge
from bundlekd.knowledge_base.kb import KnowledgeBase

RUNNER = CliRunner()


def cli(*args: str, code: int = 0) -> str:
    result = RUNNER.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def distill(kb_dir: Path) -> None:
    cli(
        "distill", "--source", "sample", "--kinds", "exemplar", "--tool-scorer", "learned",
        "--kb", str(kb_dir), "--embedder", "hashing", "--index", "numpy",
    )  # fmt: skip


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kb_dir = tmp_path_factory.mktemp("prune") / "kb"
    distill(kb_dir)
    return kb_dir


@pytest.fixture
def kb_dir(sample_kb: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "kb"
    shutil.copytree(sample_kb, copy)
    return copy


def test_decisions_follow_strict_precision_and_recall() -> None:
    gold = [[0, 1, 2], [3, 4]]
    groups = [[0, 1], [2, 3], [5, 6]]
    decided = _decisions(groups, gold)
    assert decided == [
        ("hit", [(0, 1)], True),
        ("false bundle", [(2, 3)], True),
        ("false bundle", [(5, 6)], True),
        ("missed bundle", [(3, 4)], False),  # nothing inside {3, 4}: its split pair decided it
    ]
    # A group that spills out of its bundle is decided by the pairs no bundle holds; the
    # bundle's own pair was grouped, so no split pair decided its miss.
    assert _decisions([[0, 1, 3]], [[0, 1]]) == [("false bundle", [(0, 3), (1, 3)], True)]


def test_the_replayed_evidence_is_the_scorers_kernel(sample_kb: Path) -> None:
    kb = KnowledgeBase.open(sample_kb, read_only=True)
    tool = kb.grouping_tool()
    session = load_sample().split("train")[0]
    memory = tool.scorer.memories[session.domain]  # type: ignore[attr-defined]
    own = memory.index[session.session_id]
    block = tool.embed([session])[0]
    titles = [" ".join(i.title.split()) for i in session.public().items]
    features, pairs = pair_features(block, titles, memory, own)
    evidence = _Evidence(block, memory, own, KERNEL_WINDOW)
    column = FEATURE_NAMES.index("kernw50")
    for pair, row in zip(pairs, features, strict=True):
        rows, weights = evidence.weights(pair)
        assert memory.pair_session[rows].tolist().count(own) == 0  # own session left out
        assert float((weights * memory.pair_y[rows]).sum()) == pytest.approx(row[column], abs=1e-5)


def test_credit_is_shared_out_without_loss(sample_kb: Path) -> None:
    kb = KnowledgeBase.open(sample_kb, read_only=True)
    credit = credit_tool(kb.grouping_tool(), kb.items(), load_sample().split("train"))
    assert credit.queries == 36
    assert sum(credit.decided.values()) > 0
    by_session = sum(c.helped + c.hurt for c in credit.sessions.values())
    by_exemplar = sum(c.helped + c.hurt for c in credit.exemplars.values())
    assert by_session == pytest.approx(by_exemplar)
    assert 0 < by_session <= sum(credit.decided.values()) + 1e-9  # each bundle weighs <= 1
    exemplar_ids = {i.id for i in kb.items() if i.kind == "exemplar"}
    assert set(credit.exemplars) <= exemplar_ids
    assert {i for ids in credit.members.values() for i in ids} == exemplar_ids


def _state(kb_dir: Path) -> tuple[set[str], bytes]:
    kb = KnowledgeBase.open(kb_dir, read_only=True)
    return {i.id for i in kb.items()}, (kb_dir / "tool" / "tool.json").read_bytes()


def test_a_kept_prune_refits_the_tool_and_rollback_restores_both(kb_dir: Path) -> None:
    before = _state(kb_dir)
    output = cli("kb", "prune", str(kb_dir), "--top", "1")
    assert "most harmful" in output
    assert "decision: kept (history #3)" in output  # 1 add, 2 fit-tool
    kb = KnowledgeBase.open(kb_dir)
    event = kb.history()[-1]
    assert event["op"] == "prune"
    assert event["summary"]["decision"] == "kept"
    removed = [c["id"] for c in event["changes"] if c["action"] == "prune"]
    assert removed
    assert event["summary"]["removed"] == len(removed)
    assert set(removed) <= before[0]
    assert not set(removed) & {i.id for i in kb.items()}
    assert set(event["summary"]["val_after"]) == {"electronic", "clothing", "food"}
    # The tool in the KB is the one fitted on the pruned knowledge.
    saved = json.loads((kb_dir / "tool" / "tool.json").read_text())
    assert saved["metadata"]["knowledge"] == fitted_knowledge(kb.store.load().values())
    assert kb.tool_drift() is None
    cli("kb", "rollback", str(kb_dir))
    assert _state(kb_dir) == before
    assert KnowledgeBase.open(kb_dir).tool_drift() is None


def test_a_rejected_prune_changes_nothing_but_the_record(
    kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pruning.tool_scores
    calls: list[int] = []

    def worse_after(tool, sessions):  # type: ignore[no-untyped-def]
        scores = real(tool, sessions)
        calls.append(1)
        return scores if len(calls) == 1 else {d: (p - 0.01, r) for d, (p, r) in scores.items()}

    monkeypatch.setattr(pruning, "tool_scores", worse_after)
    before = _state(kb_dir)
    result = pruning.prune_kb(kb_dir, top=1)
    assert result.decision == "rejected"
    assert result.removed
    assert _state(kb_dir) == before
    event = KnowledgeBase.open(kb_dir).history()[-1]
    assert event["summary"]["decision"] == "rejected"
    assert event["summary"]["removed"] == 0
    assert event["summary"]["worse_in"]
    assert not [c for c in event["changes"] if c["action"] == "prune"]


def test_dry_run_writes_nothing_and_a_cosine_tool_is_refused(kb_dir: Path) -> None:
    history = (kb_dir / "history.jsonl").read_bytes()
    output = cli("kb", "prune", str(kb_dir), "--dry-run")
    assert "decision: dry run" in output
    assert (kb_dir / "history.jsonl").read_bytes() == history
    path = kb_dir / "tool" / "tool.json"
    saved = json.loads(path.read_text())
    saved["metadata"]["fit"]["scorer"] = "cosine"  # as `distill --tool-scorer cosine` records
    path.write_text(json.dumps(saved))
    output = cli("kb", "prune", str(kb_dir), code=1)
    assert "pruning needs --tool-scorer learned" in " ".join(output.split())
    output = cli("kb", "prune", str(kb_dir / "nothing"), code=1)
    assert "not a knowledge base" in output
    assert not (kb_dir / "nothing").exists()
