"""A KB state means one set of predictions: the grouping tool is versioned with the knowledge
(issue 16 items 1-3). The shipped sample, the hashing embedder, the learned scorer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.data.sources import load_sample
from bundlekd.errors import KnowledgeBaseError
from bundlekd.knowledge_base.kb import KnowledgeBase

RUNNER = CliRunner()


def cli(*args: str, code: int = 0) -> str:
    """The command's output, whitespace joined (rich wraps long lines)."""
    result = RUNNER.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


def distill(kb_dir: Path, ratio: str) -> None:
    cli(
        "distill", "--source", "sample", "--kinds", "exemplar", "--tool-scorer", "learned",
        "--ratio", ratio, "--kb", str(kb_dir), "--embedder", "hashing", "--index", "numpy",
    )  # fmt: skip


def predict(kb_dir: Path) -> list[Any]:
    tool = KnowledgeBase.open(kb_dir, read_only=True).grouping_tool()
    return tool.propose(load_sample().split("test"))


@pytest.fixture(scope="module")
def grown_kb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, list[Any]]:
    """A KB distilled at ratio 0.5, then at 1.0; with the first state's tool and proposals."""
    kb_dir = tmp_path_factory.mktemp("grown") / "kb"
    distill(kb_dir, "0.5")
    first_tool = (kb_dir / "tool" / "tool.json").read_bytes()
    first = predict(kb_dir)
    distill(kb_dir, "1.0")
    return kb_dir, first_tool, first


def test_rollback_restores_the_tool_and_the_first_states_predictions(
    grown_kb: tuple[Path, bytes, list[Any]], tmp_path: Path
) -> None:
    source, first_tool, first = grown_kb
    kb_dir = tmp_path / "kb"
    shutil.copytree(source, kb_dir)
    assert predict(kb_dir) != first  # the grown KB predicts differently
    # The second distill logged two operations: its add, then its tool fit (`fit-tool`).
    assert [e["op"] for e in KnowledgeBase.open(kb_dir).history()][-2:] == ["add", "fit-tool"]
    result = cli("kb", "rollback", str(kb_dir))  # undoes the fit: the first tool, stale now
    assert "its grouping tool as it was then" in result
    assert (kb_dir / "tool" / "tool.json").read_bytes() == first_tool
    assert "fitted on another knowledge state" in result
    result = cli("kb", "rollback", str(kb_dir))  # undoes the add
    assert "its grouping tool as it was then" in result
    assert (kb_dir / "tool" / "tool.json").read_bytes() == first_tool
    assert predict(kb_dir) == first
    assert KnowledgeBase.open(kb_dir).tool_drift() is None


def test_kb_changes_mark_the_tool_stale_and_refit_tool_refits_it(
    grown_kb: tuple[Path, bytes, list[Any]], tmp_path: Path
) -> None:
    source, _, _ = grown_kb
    kb_dir = tmp_path / "kb"
    shutil.copytree(source, kb_dir)
    fitted = (kb_dir / "tool" / "tool.json").read_bytes()
    exemplar = next(i for i in KnowledgeBase.open(kb_dir).items() if i.kind == "exemplar")
    result = cli("kb", "remove", str(kb_dir), exemplar.id)
    assert "fitted on another knowledge state" in result
    assert "bundlekd kb refit-tool" in result
    stale = KnowledgeBase.open(kb_dir, read_only=True).grouping_tool()
    assert "fitted on another knowledge state" in stale.metadata["stale"]

    result = cli("kb", "refit-tool", str(kb_dir))
    assert "re-fitted on" in result
    kb = KnowledgeBase.open(kb_dir)
    assert kb.tool_drift() is None
    assert "stale" not in kb.grouping_tool().metadata
    refitted = (kb_dir / "tool" / "tool.json").read_bytes()
    assert [e["op"] for e in kb.history()][-2:] == ["remove", "refit-tool"]
    # The refit is an operation of its own (issue 22): the first rollback undoes it, and says
    # that the tool put back is stale; the second undoes the removal, tool and knowledge both.
    result = cli("kb", "rollback", str(kb_dir))
    assert "its grouping tool as it was then" in result
    assert "fitted on another knowledge state" in result
    assert (kb_dir / "tool" / "tool.json").read_bytes() == fitted
    cli("kb", "rollback", str(kb_dir))
    assert (kb_dir / "tool" / "tool.json").read_bytes() == fitted
    assert exemplar.id in {i.id for i in KnowledgeBase.open(kb_dir).items()}
    assert KnowledgeBase.open(kb_dir).tool_drift() is None
    assert refitted != fitted


def test_a_resume_refuses_a_kb_changed_in_place(
    grown_kb: tuple[Path, bytes, list[Any]], tmp_path: Path
) -> None:
    source, _, _ = grown_kb
    kb_dir = tmp_path / "kb"
    shutil.copytree(source, kb_dir)
    out = tmp_path / "tool.jsonl"
    generate = ["generate", "--source", "sample", "--mode", "tool", "--kb", str(kb_dir)]
    cli(*generate, "--out", str(out), "--limit", "6")
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    assert manifest["identity"]["kb_knowledge_hash"] == KnowledgeBase.open(kb_dir).knowledge_hash()
    rows = tmp_path / "rules.jsonl"
    rule = {"kind": "rule", "text": "Tea goes with a mug.", "domain": "food"}
    rows.write_text(json.dumps({**rule, "source_splits": ["train"]}) + "\n")
    cli("kb", "add", str(kb_dir), str(rows))
    assert KnowledgeBase.open(kb_dir).tool_drift() is None  # rules do not feed the tool
    result = cli(*generate, "--out", str(out), code=1)
    assert "kb_knowledge_hash" in result  # another knowledge state: not one file


TAMPERED = {
    "NaN coefficient": (lambda m, s: m["coef"].__setitem__(0, float("nan")), "finite"),
    "huge value": (lambda m, s: m["mean"].__setitem__(3, 1e308), "finite"),
    "zero scale": (lambda m, s: m["scale"].__setitem__(1, 0.0), "zero or negative"),
    "short array": (lambda m, s: m["coef"].pop(), "expected"),
    "no intercept": (lambda m, s: m.pop("intercept"), "'intercept' is missing"),
    "wrong domains": (lambda m, s: s.__setitem__("domains", ["x", "y", "z"]), "domains"),
    "short domains": (lambda m, s: s.__setitem__("domains", ["food"]), "domains"),
    "no models": (lambda m, s: s.__setitem__("models", {}), "no fitted models"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_damaged_tool_file_is_one_line_naming_the_file_and_the_refit(
    grown_kb: tuple[Path, bytes, list[Any]], tmp_path: Path, case: str
) -> None:
    source, _, _ = grown_kb
    kb_dir = tmp_path / "kb"
    shutil.copytree(source, kb_dir)
    tool_file = kb_dir / "tool" / "tool.json"
    saved = json.loads(tool_file.read_text())
    change, expected = TAMPERED[case]
    change(saved["scorer"]["models"].get("*", {}), saved["scorer"])
    tool_file.write_text(json.dumps(saved))
    with pytest.raises(KnowledgeBaseError, match=expected) as caught:
        KnowledgeBase.open(kb_dir, read_only=True).grouping_tool()
    message = str(caught.value)
    assert message.startswith(str(tool_file))
    assert f"bundlekd kb refit-tool {kb_dir}" in message
    assert "\n" not in message


def test_rolling_back_to_a_snapshot_without_its_tool_says_the_tool_is_stale(
    grown_kb: tuple[Path, bytes, list[Any]], tmp_path: Path
) -> None:
    source, _, _ = grown_kb
    kb_dir = tmp_path / "kb"
    shutil.copytree(source, kb_dir)
    for kept in (kb_dir / "snapshots").glob("*.files.json"):
        kept.unlink()  # as a KB from before versioned tool files
    cli("kb", "rollback", str(kb_dir))  # the tool fit: nothing kept to put back
    result = cli("kb", "rollback", str(kb_dir))  # the add: the grown state's tool stays
    assert "as it was then" not in result
    assert "fitted on another knowledge state" in result


def test_refit_tool_can_move_a_kb_to_another_val_objective(
    grown_kb: tuple[Path, bytes, list[Any]], tmp_path: Path
) -> None:
    source, _, _ = grown_kb
    kb_dir = tmp_path / "kb"
    shutil.copytree(source, kb_dir)

    def chosen_by() -> tuple[str, str]:
        saved = json.loads((kb_dir / "tool" / "tool.json").read_text())["metadata"]
        return saved["fit"]["objective"], saved["chosen_by"]["objective"]

    assert chosen_by() == ("gjs", "gjs")  # what distill records today
    result = cli("kb", "refit-tool", str(kb_dir), "--objective", "pr")
    assert "re-fitted on" in result
    assert chosen_by() == ("pr", "pr")
    cli("kb", "refit-tool", str(kb_dir))  # the recorded objective stays
    assert chosen_by() == ("pr", "pr")
    result = cli("kb", "refit-tool", str(kb_dir), "--objective", "gjs")
    assert "GJS" in result
    assert chosen_by() == ("gjs", "gjs")
    result = cli("kb", "refit-tool", str(kb_dir), "--objective", "accuracy", code=1)
    assert "unknown tool objective 'accuracy'" in result
