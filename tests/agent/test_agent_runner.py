"""run_batch: resumable appends, crash tolerance, manifest."""

from __future__ import annotations

import json

import pytest

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.runner import manifest_path, run_batch
from bundlekd.agent.student import StudentAgent
from bundlekd.data.predictions_jsonl import read_predictions
from bundlekd.errors import LLMError

REPLY = '{"bundles": [{"items": [1, 2], "intent": "gear"}]}'


def _agent(llm):
    return StudentAgent(llm, AgentConfig(mode="zero_shot"))


def test_interrupt_keeps_finished_batches_and_rerun_completes(
    recording_llm, test_sessions, tmp_path
):
    out = tmp_path / "preds.jsonl"
    with pytest.raises(LLMError):
        run_batch(_agent(recording_llm(REPLY, fail_on_call=2)), test_sessions, out, batch_size=2)
    assert [p.session_id for p in read_predictions(out)] == ["s1", "s2"]
    assert json.loads(manifest_path(out).read_text())["complete"] is False

    llm = recording_llm(REPLY)
    progress = []
    summary = run_batch(
        _agent(llm),
        test_sessions,
        out,
        batch_size=2,
        on_progress=lambda d, t: progress.append((d, t)),
    )
    assert (summary.n_done, summary.n_skipped, summary.n_parsed) == (3, 2, 3)
    assert [r.custom_id for r in llm.requests] == [
        "electronic/s3",
        "electronic/s4",
        "electronic/s5",
    ]
    assert progress == [(0, 3), (2, 3), (3, 3)]
    assert [p.session_id for p in read_predictions(out)] == ["s1", "s2", "s3", "s4", "s5"]

    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["complete"] is True
    assert manifest["model"] == "recording-fake"
    assert manifest["file"] == {"lines": 5, "parsed": 5}
    assert manifest["config"]["mode"] == "zero_shot"
    assert len(manifest["prompt_version"]) == 12

    again = run_batch(_agent(recording_llm(REPLY)), test_sessions, out)
    assert (again.n_done, again.n_skipped) == (0, 5)


def test_truncated_last_line_from_a_crash_is_tolerated(recording_llm, test_sessions, tmp_path):
    out = tmp_path / "preds.jsonl"
    run_batch(_agent(recording_llm(REPLY)), test_sessions[:2], out)
    with out.open("a", encoding="utf-8") as handle:
        handle.write('{"session_id": "s3", "domain": "electro')  # killed mid-write
    summary = run_batch(_agent(recording_llm(REPLY)), test_sessions, out, batch_size=8)
    assert (summary.n_done, summary.n_skipped) == (3, 2)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["session_id"] for line in lines] == ["s1", "s2", "s3", "s4", "s5"]


def test_summary_counts_invalid_outputs_and_rates(recording_llm, test_sessions, tmp_path):
    def reply(request):
        return "garbage" if request.custom_id.endswith(("s2", "s4")) else REPLY

    summary = run_batch(_agent(recording_llm(reply)), test_sessions, tmp_path / "p.jsonl")
    assert (summary.n_done, summary.n_parsed) == (5, 3)
    assert summary.parsed_rate == pytest.approx(0.6)
    assert summary.sessions_per_min > 0
    assert summary.tokens > 0


def test_duplicate_sessions_are_generated_once(recording_llm, test_sessions, tmp_path):
    llm = recording_llm(REPLY)
    summary = run_batch(_agent(llm), [*test_sessions[:2], test_sessions[0]], tmp_path / "p.jsonl")
    assert summary.n_done == 2
    assert len(llm.requests) == 2


def test_sessions_are_grouped_by_size_so_batches_share_one_schema(
    recording_llm, session_factory, tmp_path
):
    sizes = [2, 5, 3, 2, 5, 3]
    sessions = [
        session_factory(f"m{n}", [f"item {i}" for i in range(size)]) for n, size in enumerate(sizes)
    ]
    llm = recording_llm(REPLY)
    run_batch(_agent(llm), sessions, tmp_path / "a.jsonl", batch_size=2)
    schemas = [
        {
            len(
                r.json_schema["properties"]["bundles"]["items"]["properties"]["items"]["items"][
                    "enum"
                ]
            )
            for r in b
        }
        for b in llm.batches
    ]
    assert schemas == [{2}, {3}, {5}]
    plain = recording_llm(REPLY)
    run_batch(_agent(plain), sessions, tmp_path / "b.jsonl", batch_size=2, group_by_size=False)
    assert [r.custom_id for r in plain.requests] == [f"electronic/m{n}" for n in range(6)]
