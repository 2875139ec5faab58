"""The tool and agent modes end to end on the shipped sample (hashing embedder, scripted LLM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.tool_agent import ToolAgent
from bundlekd.app.tool_fitting import fit_tool
from bundlekd.data.sources import load_sample
from bundlekd.errors import ConfigError, LeakageError
from bundlekd.knowledge_base.distill.runner import distill
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.llm.fake import ScriptedLLM


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb_dir = tmp_path_factory.mktemp("kb")
    dataset = load_sample()
    kb = KnowledgeBase.create(kb_dir, embedder="hashing", index="numpy")
    distill(dataset.split("train"), kinds=["exemplar", "pattern"], kb_dir=kb_dir, kb=kb)
    fit_tool(kb, dataset.split("train"), dataset.split("val"), kb.embedder)
    return kb


def test_tool_mode_proposes_and_names_from_exemplars(sample_kb: KnowledgeBase) -> None:
    test = load_sample().split("test")
    agent = ToolAgent(sample_kb.grouping_tool(), AgentConfig(mode="tool"))
    predictions = agent.generate(test)
    assert [p.session_id for p in predictions] == [s.session_id for s in test]
    assert all(p.parsed and p.bundles for p in predictions)
    assert all(p.proposals == p.bundles for p in predictions)
    assert all(b.intent for p in predictions for b in p.bundles)
    exemplar_ids = {i.id for i in sample_kb.items() if i.kind == "exemplar"}
    assert all(set(p.knowledge_ids) <= exemplar_ids for p in predictions)


def test_the_tool_is_deterministic_and_order_independent(sample_kb: KnowledgeBase) -> None:
    test = load_sample().split("test")
    tool = sample_kb.grouping_tool()
    first = tool.propose(test)
    again = tool.propose(list(reversed(test)))
    assert first == list(reversed(again))
    assert first == sample_kb.grouping_tool().propose(test)


def test_agent_names_the_proposals_and_falls_back_on_garbage(sample_kb: KnowledgeBase) -> None:
    test = load_sample().split("test")[:4]

    def reply(request):  # one intent per proposed bundle, as the schema demands
        n = request.json_schema["properties"]["intents"]["minItems"]
        return json.dumps({"intents": [f"named {i}" for i in range(n)]})

    llm = ScriptedLLM(reply)
    agent = ToolAgent(sample_kb.grouping_tool(), AgentConfig(mode="agent"), llm)
    predictions = agent.generate(test)
    assert all(b.intent.startswith("named") for p in predictions for b in p.bundles)
    assert all([b.items for b in p.bundles] == [b.items for b in p.proposals] for p in predictions)
    user_turn = llm.history[0].messages[-1].content
    assert "Bundle 1: products" in user_turn
    assert "Similar past bundles" in user_turn

    garbage = ToolAgent(
        sample_kb.grouping_tool(), AgentConfig(mode="agent"), ScriptedLLM(lambda r: "[/INST] ok")
    )
    kept = garbage.generate(test)
    assert all(p.bundles == p.proposals for p in kept)  # the tool's output survives
    assert all("kept the tool's intents" in p.errors[0] for p in kept)


def test_agent_edit_variant_may_change_the_bundles(sample_kb: KnowledgeBase) -> None:
    session = load_sample().split("test")[0]
    answer = json.dumps({"bundles": [{"items": [1, 2], "intent": "edited"}]})
    agent = ToolAgent(
        sample_kb.grouping_tool(),
        AgentConfig(mode="agent", variant="edit"),
        ScriptedLLM(lambda r: answer),
    )
    (prediction,) = agent.generate([session])
    assert prediction.bundles[0].intent == "edited"
    assert prediction.bundles[0].items == tuple(i.item_id for i in session.items[:2])
    assert prediction.proposals  # what the tool suggested is recorded beside it


def test_agent_mode_needs_an_llm_and_the_tool_modes_only(sample_kb: KnowledgeBase) -> None:
    with pytest.raises(ConfigError, match="needs an LLM"):
        ToolAgent(sample_kb.grouping_tool(), AgentConfig(mode="agent"))
    with pytest.raises(ConfigError, match="tool and agent"):
        ToolAgent(sample_kb.grouping_tool(), AgentConfig(mode="few_shot"))


def test_fitting_refuses_test_sessions_and_ignores_test_labels(tmp_path: Path) -> None:
    dataset = load_sample()
    train, val, test = dataset.split("train"), dataset.split("val"), dataset.split("test")
    kb = KnowledgeBase.create(tmp_path / "kb", embedder="hashing", index="numpy")
    distill(train, kinds=["exemplar"], kb_dir=tmp_path / "kb", kb=kb)
    with pytest.raises(LeakageError):
        fit_tool(kb, train, [*val, test[0]], kb.embedder)
    with pytest.raises(LeakageError):
        fit_tool(kb, [*train, test[0]], val, kb.embedder)
    with pytest.raises(LeakageError, match="exemplars"):
        distill(test, kinds=["exemplar"], kb_dir=tmp_path / "kb", kb=kb, force=True)


def test_changing_test_labels_cannot_change_the_fitted_tool(tmp_path: Path) -> None:
    from bundlekd.app.distillation import run_distillation
    from bundlekd.config import load_config
    from bundlekd.data.sessions_jsonl import write_sessions

    sessions = list(load_sample().sessions)
    relabelled = [
        s.model_copy(update={"bundles": tuple(reversed(s.bundles or ()))[:1]})
        if s.split == "test"
        else s
        for s in sessions
    ]
    assert relabelled != sessions
    tools = []
    for name, data in (("a", sessions), ("b", relabelled)):
        source = tmp_path / f"{name}.jsonl"
        write_sessions(source, data)
        overrides = {
            "data.source": str(source),
            "distill.kinds": ["exemplar"],
            "kb.dir": tmp_path / f"kb-{name}",
            "kb.index": "numpy",
            "embedder.name": "hashing",
        }
        run = run_distillation(load_config(None, overrides, environ={}))
        tool = json.loads((tmp_path / f"kb-{name}" / "tool" / "tool.json").read_text())
        assert run.tool is not None
        described = {k: v for k, v in run.tool.items() if k != "fit"}  # "fit" names the file
        tools.append((described, tool["settings"], tool["metadata"]["val_scores"]))
    assert tools[0] == tools[1]


def test_generate_cli_runs_tool_mode_against_a_kb(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bundlekd.cli import app

    kb_dir = tmp_path / "kb"
    args = ["distill", "--source", "sample", "--kinds", "exemplar", "--kb", str(kb_dir)]
    result = CliRunner().invoke(app, [*args, "--embedder", "hashing", "--index", "numpy"])
    assert result.exit_code == 0, result.output
    assert "grouping tool (learned) saved" in result.output  # the default scorer, chosen on val
    out = tmp_path / "tool.jsonl"
    args = ["generate", "--source", "sample", "--mode", "tool", "--kb", str(kb_dir)]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 12
    assert all(r["method"] == "tool" and r["proposals"] for r in rows)


def test_an_older_tool_file_is_read_and_an_unreadable_one_is_a_clear_error(
    sample_kb: KnowledgeBase, tmp_path: Path
) -> None:
    import shutil

    from bundlekd.errors import KnowledgeBaseError

    kb_dir = tmp_path / "kb"
    shutil.copytree(sample_kb.kb_dir, kb_dir)
    tool_file = kb_dir / "tool" / "tool.json"
    saved = json.loads(tool_file.read_text())
    for settings in [*saved["settings"].values(), saved["default"]]:
        settings["linkage"] = settings.pop("policy")  # how files before the pairs policy read
    tool_file.write_text(json.dumps(saved))
    sessions = load_sample().split("test")
    old = KnowledgeBase.open(kb_dir).grouping_tool()
    assert old.propose(sessions) == sample_kb.grouping_tool().propose(sessions)

    saved["default"]["threshold"] = "high"
    tool_file.write_text(json.dumps(saved))
    with pytest.raises(KnowledgeBaseError, match="re-fit it with `bundlekd kb refit-tool"):
        KnowledgeBase.open(kb_dir).grouping_tool()
