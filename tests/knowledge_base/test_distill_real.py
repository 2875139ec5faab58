"""The real default model (SmolLM2-135M-Instruct) as teacher, on one shipped sample session.

A 135M teacher is weak: this checks the real code path (chat template, constrained decoding,
parsing, verdicts, cache), not the quality of what it distils.
"""

from __future__ import annotations

from pathlib import Path

from bundlekd.data.sources import load_sample
from bundlekd.files import iter_jsonl
from bundlekd.knowledge_base.distill.rules import RuleSettings, clean_rule
from bundlekd.knowledge_base.distill.runner import TRACE_FILE, distill
from bundlekd.llm.registry import get_llm


def test_smollm2_teacher_distils_rules_and_thoughts(tmp_path: Path) -> None:
    sessions = load_sample().split("train")[:1]  # one: every stage runs; CI time is scarce
    teacher = get_llm("smollm2", batch_size=2)
    settings = RuleSettings(answer_tokens=96, rules_tokens=128)

    def run():  # type: ignore[no-untyped-def]
        return distill(
            sessions,
            kinds=["rule", "thought"],
            teacher=teacher,
            kb_dir=tmp_path,
            rule_settings=settings,
            thought_tokens=256,
        )

    report = run()
    assert report.teacher_requests == 3 + 1
    assert report.rule_failures == 0
    assert report.thoughts_total == 1
    assert report.thoughts_accepted + sum(report.thought_rejections.values()) == 1
    rejections = set(report.thought_rejections)
    assert rejections <= {"unparsable", "empty_thought", "repetitive", "bundles_differ"}, rejections
    for item in report.candidates:
        assert item.kind in ("rule", "thought")
        assert item.teacher == teacher.model_id
        assert item.prompt_version
        assert item.source_splits == ("train",)
        assert set(item.source_session_ids) <= {s.session_id for s in sessions}
        if item.kind == "rule":
            assert clean_rule(item.text) == item.text  # well-formed: parsing is idempotent
    trace = [row for _, row in iter_jsonl(tmp_path / TRACE_FILE)]
    assert [row["kind"] for row in trace] == ["rule", "thought"]
    assert trace[0]["first"]
    assert trace[0]["revised"]

    # Greedy decoding is cacheable: the same run again costs no teacher call.
    again = run()
    assert again.teacher_calls == 0
    assert again.cache_hits == 4
    assert {c.id for c in again.candidates} == {c.id for c in report.candidates}
    teacher.close()
