"""run_batch guards: a backend outage is never a prediction, a resume never mixes two
configurations, and one run at a time writes a predictions file."""

from __future__ import annotations

import json

import pytest

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.examples import ExampleIndex
from bundlekd.agent.runner import lock_path, manifest_path, out_lock, run_batch
from bundlekd.agent.student import StudentAgent
from bundlekd.data.predictions_jsonl import read_predictions
from bundlekd.errors import ConfigError, TransportError, WriteError
from bundlekd.llm.base import Completion
from bundlekd.llm.embeddings import HashingEmbedder

REPLY = '{"bundles": [{"items": [1, 2], "intent": "gear"}]}'


class FlakyServer:
    """Answers until `down_from`-th request, then every request fails like an outage."""

    def __init__(self, recording_llm, down_from: int | None) -> None:
        self.count = 0
        self.down_from = down_from
        self.llm = recording_llm(self.reply)

    def reply(self, request) -> str | Completion:
        self.count += 1
        if self.down_from is not None and self.count >= self.down_from:
            raise TransportError("http://gpu:8000/v1 answered HTTP 503 after 4 tries")
        return REPLY


def test_an_outage_stops_the_run_and_a_rerun_retries_exactly_the_failed_sessions(
    recording_llm, test_sessions, tmp_path
) -> None:
    out = tmp_path / "preds.jsonl"
    flaky = FlakyServer(recording_llm, down_from=3)
    agent = StudentAgent(flaky.llm, AgentConfig(mode="zero_shot"))
    with pytest.raises(TransportError, match="HTTP 503") as caught:
        run_batch(agent, test_sessions, out, batch_size=2)
    assert "2 finished session(s) are kept" in str(caught.value)
    assert "retry the 3 left" in str(caught.value)
    kept = read_predictions(out)
    assert [p.session_id for p in kept] == ["s1", "s2"]  # no 503 was written as a prediction
    assert all(p.parsed and not p.errors for p in kept)
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["complete"] is False
    assert "HTTP 503" in manifest["stopped_by"]

    healthy = recording_llm(REPLY)
    summary = run_batch(StudentAgent(healthy, AgentConfig(mode="zero_shot")), test_sessions, out)
    assert [r.custom_id.split("/")[1] for r in healthy.requests] == ["s3", "s4", "s5"]
    assert (summary.n_done, summary.n_skipped) == (3, 2)
    assert json.loads(manifest_path(out).read_text())["complete"] is True


def test_a_resume_under_another_configuration_is_refused_naming_the_fields(
    recording_llm, test_sessions, train_sessions, tmp_path
) -> None:
    out = tmp_path / "m.jsonl"
    run_batch(
        StudentAgent(recording_llm(REPLY), AgentConfig(mode="zero_shot")), test_sessions[:2], out
    )
    few_shot = StudentAgent(
        recording_llm(REPLY),
        AgentConfig(mode="few_shot"),
        example_index=ExampleIndex(train_sessions, HashingEmbedder()),
    )
    with pytest.raises(ConfigError) as caught:
        run_batch(few_shot, test_sessions, out)
    message = str(caught.value)
    assert "config.mode: 'zero_shot' -> 'few_shot'" in message
    assert "method: 'zero_shot' -> 'few_shot-k1'" in message
    assert "examples_embedder" in message
    assert "--force" in message
    assert len(read_predictions(out)) == 2  # nothing appended

    summary = run_batch(few_shot, test_sessions, out, force=True)
    assert summary.n_done == 3
    manifest = json.loads(manifest_path(out).read_text())
    assert any("config.mode" in d for d in manifest["forced_differences"])
    assert any("another configuration" in w for w in summary.warnings)


def test_restart_stale_redoes_a_file_of_another_configuration(
    recording_llm, test_sessions, tmp_path
) -> None:
    out = tmp_path / "m.jsonl"
    old = StudentAgent(recording_llm(REPLY), AgentConfig(mode="zero_shot", max_title_chars=120))
    run_batch(old, test_sessions[:2], out)
    new_llm = recording_llm(REPLY)
    new = StudentAgent(new_llm, AgentConfig(mode="zero_shot", max_title_chars=60))
    summary = run_batch(new, test_sessions, out, restart_stale=True)
    assert (summary.n_done, summary.n_skipped) == (5, 0)  # all redone, none mixed in
    assert len(new_llm.requests) == 5
    assert len(read_predictions(out)) == 5
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["config"]["max_title_chars"] == 60
    assert manifest["forced_differences"] == []  # a fresh file, not a forced mix
    again = run_batch(new, test_sessions, out, restart_stale=True)  # same config: a resume
    assert (again.n_done, again.n_skipped) == (0, 5)


def test_the_same_configuration_resumes_and_batch_size_does_not_matter(
    recording_llm, test_sessions, tmp_path
) -> None:
    out = tmp_path / "m.jsonl"
    agent = StudentAgent(recording_llm(REPLY), AgentConfig(mode="zero_shot", batch_size=2))
    run_batch(agent, test_sessions[:2], out)
    other_speed = StudentAgent(recording_llm(REPLY), AgentConfig(mode="zero_shot", batch_size=7))
    assert run_batch(other_speed, test_sessions, out).n_done == 3


def test_a_second_run_on_the_same_out_fails_at_once_instead_of_duplicating_lines(
    recording_llm, test_sessions, tmp_path
) -> None:
    out = tmp_path / "m.jsonl"
    agent = StudentAgent(recording_llm(REPLY), AgentConfig(mode="zero_shot"))
    with out_lock(out), pytest.raises(WriteError, match="another run is writing it"):
        run_batch(agent, test_sessions, out)  # while another run holds the file
    assert not out.exists()
    assert lock_path(out).name == "m.jsonl.lock"
    run_batch(agent, test_sessions, out)
    run_batch(agent, test_sessions, out)
    assert len(out.read_text().splitlines()) == 5
