"""run_batch with another engine (what `--engine ray` plugs in): the runner alone writes, once."""

from __future__ import annotations

import json

import pytest

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.runner import manifest_path, run_batch
from bundlekd.agent.student import StudentAgent
from bundlekd.data.predictions_jsonl import read_predictions
from bundlekd.data.schema import Prediction
from bundlekd.errors import EngineError

REPLY = '{"bundles": [{"items": [1, 2], "intent": "gear"}]}'


def _agent(llm):
    return StudentAgent(llm, AgentConfig(mode="zero_shot"))


def test_repeated_and_unasked_predictions_are_written_once(recording_llm, test_sessions, tmp_path):
    agent = _agent(recording_llm(REPLY))
    seen_sizes = []

    def engine(todo, size):  # out of order, a retried batch, and a session nobody asked for
        seen_sizes.append(size)
        first = agent.generate(todo[:2])
        yield agent.generate(todo[2:])
        yield first
        yield first
        yield [Prediction(session_id="stranger", domain="electronic")]

    out = tmp_path / "preds.jsonl"
    summary = run_batch(agent, test_sessions, out, batch_size=3, engine=engine)
    assert seen_sizes == [3]
    assert summary.n_done == 5
    assert sorted(p.session_id for p in read_predictions(out)) == ["s1", "s2", "s3", "s4", "s5"]
    assert json.loads(manifest_path(out).read_text())["file"]["lines"] == 5


def test_an_engine_failure_keeps_what_was_written_and_a_rerun_finishes(
    recording_llm, test_sessions, tmp_path
):
    agent = _agent(recording_llm(REPLY))

    def failing(todo, size):
        yield agent.generate(todo[:2])
        raise EngineError("worker node lost")

    out = tmp_path / "preds.jsonl"
    with pytest.raises(EngineError, match="worker node lost"):
        run_batch(agent, test_sessions, out, engine=failing)
    assert len(read_predictions(out)) == 2
    assert json.loads(manifest_path(out).read_text())["complete"] is False

    asked = []

    def rest(todo, size):
        asked.extend(s.session_id for s in todo)
        yield agent.generate(todo)

    summary = run_batch(agent, test_sessions, out, engine=rest)
    assert asked == ["s3", "s4", "s5"]
    assert (summary.n_done, summary.n_skipped) == (3, 2)
    assert sorted(p.session_id for p in read_predictions(out)) == ["s1", "s2", "s3", "s4", "s5"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workers", "2"], "--ray-address and --workers need --engine ray"),
        (["--engine", "spark"], "unknown --engine 'spark'"),
        (["--engine", "ray", "--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_engine_options_are_checked_before_anything_loads(tmp_path, extra, message):
    import typer
    from typer.testing import CliRunner

    from bundlekd.cli.generate import generate_command

    app = typer.Typer()
    app.command("generate")(generate_command)
    app.command("other")(lambda: None)
    out = tmp_path / "p.jsonl"
    args = ["generate", "--source", "sample", "--out", str(out), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output
    assert not out.exists()
