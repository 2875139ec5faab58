"""Teacher distillation with a scripted teacher: rules, thoughts, resume, leakage, patterns."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bundlekd.data.schema import Bundle, Item, Session
from bundlekd.data.sources import load_sample
from bundlekd.errors import ConfigError, LeakageError, LLMError
from bundlekd.files import iter_jsonl
from bundlekd.knowledge_base.distill.rules import (
    copied_fraction,
    parse_rules,
    rules_prompt_version,
)
from bundlekd.knowledge_base.distill.runner import TEACHER_CACHE, TRACE_FILE, distill
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.llm.base import ChatRequest
from bundlekd.llm.fake import ScriptedLLM


def _session(
    sid: str, n_items: int, bundles: list[list[int]], split: str | None = "train"
) -> Session:
    items = tuple(
        Item(item_id=f"{sid}-{i}", title=f"Gadget {sid} {i}") for i in range(1, n_items + 1)
    )
    return Session(
        session_id=sid,
        domain="electronic",
        items=items,
        bundles=tuple(Bundle(items=tuple(f"{sid}-{p}" for p in b), intent="set") for b in bundles),
        split=split,
    )


A = _session("A", 5, [[1, 2, 3], [4, 5]])
B = _session("B", 4, [[1, 2]])
BY_ID = {f"{s.domain}/{s.session_id}": s for s in (A, B)}


def _answer(bundles: list[list[int]], thought: str | None = None) -> str:
    payload: dict = {"bundles": [{"items": b, "intent": "set"} for b in bundles]}
    if thought is not None:
        payload = {"thought": thought, **payload}
    return json.dumps(payload)


def _truth(session: Session) -> list[list[int]]:
    return [[session.position(i) for i in b.items] for b in session.bundles or ()]


def teacher_reply(request: ChatRequest) -> str:
    """A deterministic teacher: a partial first answer, a perfect revision, fixed rules."""
    session = BY_ID[request.custom_id]
    stage = request.prompt_version.split("@")[0]
    if stage == "teacher_generate":
        return _answer([[1, 2]])
    if stage == "teacher_reflect":
        return _answer(_truth(session))
    if stage == "teacher_rules":
        if session is A:
            return "- Group accessories with the device they fit.\n- Put product 3 with product 4."
        rules = [
            "group accessories with the device they fit",
            "- Leave out unrelated items.",
            "Reflect on your mistakes and on the correct bundles.",  # parrots the prompt
            # ... and a paraphrase of its instructions, as SmolLM2-135M writes them:
            "Each rule is one short imperative sentence about types of products and shopping "
            "purposes, for example, about which products belong together and which do not.",
        ]
        return json.dumps({"rules": rules})  # a JSON list is parsed too
    if session is A:  # thoughts: A ends with the truth, B does not
        return _answer(_truth(A), thought="Products 1-3 are camera parts; 4 and 5 are PC parts.")
    return _answer([[1, 2, 3]], thought="Products 1, 2 and 3 all go together for one purpose.")


def test_rules_come_from_self_reflection_with_feedback(tmp_path: Path) -> None:
    teacher = ScriptedLLM(teacher_reply)
    report = distill([A, B], kinds=["rule"], teacher=teacher, kb_dir=tmp_path)

    stages = [r.prompt_version.split("@")[0] for r in teacher.history]
    assert stages == ["teacher_generate"] * 2 + ["teacher_reflect"] * 2 + ["teacher_rules"] * 2
    reflect_a = teacher.history[2]
    assert [m.role for m in reflect_a.messages] == ["user", "assistant", "user"]
    assert reflect_a.messages[1].content == _answer([[1, 2]])
    assert (
        "Bundle [1, 2]: incomplete, it is missing related products" in reflect_a.messages[2].content
    )
    assert "1 bundle(s) in this session were not found" in reflect_a.messages[2].content
    rules_a = teacher.history[4]
    [rules_prompt] = rules_a.messages  # a fresh prompt quoting the whole reflection
    assert _answer([[1, 2]]) in rules_prompt.content  # the first answer
    assert "Bundle [1, 2]: incomplete" in rules_prompt.content  # and its feedback
    assert "Bundle [1, 2, 3]: correct, keep it." in rules_prompt.content  # the revision's
    assert '"items": [4, 5]' in rules_prompt.content  # the ground truth
    assert teacher.history[0].json_schema is None  # ScriptedLLM cannot constrain decoding

    rules = {item.text: item for item in report.candidates}
    assert set(rules) == {
        "Group accessories with the device they fit.",
        "Leave out unrelated items.",
    }
    merged = rules["Group accessories with the device they fit."]
    assert merged.kind == "rule"
    assert merged.source_session_ids == ("A", "B")
    assert merged.source_splits == ("train",)
    assert merged.teacher == "scripted"
    assert merged.prompt_version == rules_prompt_version()
    assert merged.stats["merged_count"] == 2
    assert report.rules_raw == 3  # the "product 3" rule was dropped
    assert report.rule_sessions == 2
    assert (report.teacher_requests, report.cache_hits, report.teacher_calls) == (6, 0, 6)

    trace = [row for _, row in iter_jsonl(tmp_path / TRACE_FILE)]
    assert [row["session_id"] for row in trace] == ["A", "B"]
    assert trace[0]["first_feedback"] == {"missing": 1, "not_found": 1}
    assert trace[0]["revised_feedback"] == {"correct": 2}
    assert trace[1]["rules_copied_from_prompt"] == 2


def test_json_schema_is_sent_when_the_backend_supports_it(tmp_path: Path) -> None:
    class ConstrainedScript(ScriptedLLM):
        supports_json_schema = True

    teacher = ConstrainedScript(teacher_reply)
    distill([A], kinds=["rule", "thought"], teacher=teacher, kb_dir=tmp_path)
    schemas = [r.json_schema for r in teacher.history]
    assert [schema is not None for schema in schemas] == [True, True, False, True]
    assert schemas[0]["properties"]["bundles"]["items"]["properties"]["items"]["items"]["enum"] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert schemas[2] is None  # rules are free "- " lines
    assert "thought" in schemas[3]["properties"]


def test_thoughts_are_kept_only_when_they_end_with_the_truth(tmp_path: Path) -> None:
    report = distill([A, B], kinds=["thought"], teacher=ScriptedLLM(teacher_reply), kb_dir=tmp_path)
    assert report.thoughts_total == 2
    assert report.thoughts_accepted == 1
    assert report.thought_acceptance == 0.5
    assert report.thought_rejections == {"bundles_differ": 1}
    [item] = report.candidates
    assert item.kind == "thought"
    assert item.text.startswith("Session: 1. Gadget A 1; 2. Gadget A 2;")
    assert item.text.endswith("Thought: Products 1-3 are camera parts; 4 and 5 are PC parts.")
    assert item.stats["session_id"] == "A"
    assert json.loads(item.stats["answer"])["bundles"][0]["items"] == [1, 2, 3]
    assert item.source_session_ids == ("A",)


def test_interrupted_distillation_resumes_without_repeating_teacher_calls(tmp_path: Path) -> None:
    def failing_after(limit: int) -> Callable[[ChatRequest], str]:
        calls = {"n": 0}

        def reply(request: ChatRequest) -> str:
            calls["n"] += 1
            if calls["n"] > limit:
                raise LLMError("teacher went away")
            return teacher_reply(request)

        return reply

    # 2 sessions: 6 rule requests + 2 thought requests. The 4th call dies (inside "reflect").
    with pytest.raises(LLMError):
        distill(
            [A, B],
            kinds=["rule", "thought"],
            teacher=ScriptedLLM(failing_after(3)),
            kb_dir=tmp_path,
            chunk_size=1,
        )
    assert (tmp_path / TEACHER_CACHE).is_file()

    teacher = ScriptedLLM(teacher_reply)
    report = distill(
        [A, B], kinds=["rule", "thought"], teacher=teacher, kb_dir=tmp_path, chunk_size=1
    )
    assert len(teacher.history) == 8 - 3  # the 3 finished calls came from the cache
    assert report.teacher_requests == 8
    assert report.cache_hits == 3
    assert report.teacher_calls == 5
    first_three = {(r.prompt_version.split("@")[0], r.custom_id) for r in teacher.history}
    assert ("teacher_generate", "electronic/A") not in first_three

    # A third run pays nothing, and produces the same candidates.
    again = ScriptedLLM(teacher_reply)
    rerun = distill([A, B], kinds=["rule", "thought"], teacher=again, kb_dir=tmp_path)
    assert again.history == []
    assert rerun.cache_hits == 8
    assert {c.id for c in rerun.candidates} == {c.id for c in report.candidates}
    # the knowledge's teacher cost is the same whether its answers came from the cache or not
    assert report.teacher_prompt_tokens > 0
    assert report.teacher_completion_tokens > 0
    assert (rerun.teacher_prompt_tokens, rerun.teacher_completion_tokens) == (
        report.teacher_prompt_tokens,
        report.teacher_completion_tokens,
    )
    assert rerun.summary()["teacher_tokens"] == report.teacher_tokens


def test_test_sessions_are_refused_unless_forced(tmp_path: Path) -> None:
    leaked = _session("T", 4, [[1, 2]], split="test")
    with pytest.raises(LeakageError, match=r"1 session \(electronic/T\) from the test split"):
        distill([A, leaked], kinds=["rule"], teacher=ScriptedLLM(teacher_reply), kb_dir=tmp_path)
    with pytest.raises(LeakageError, match="pattern mining"):
        distill([leaked], kinds=["pattern"], kb_dir=tmp_path, force=True)

    def reply(request: ChatRequest) -> str:
        return _answer([[1, 2]], thought="Products 1 and 2 are the two halves of one set.")

    report = distill(
        [leaked], kinds=["thought"], teacher=ScriptedLLM(reply), kb_dir=tmp_path, force=True
    )
    assert report.candidates[0].source_splits == ("test",)


def test_patterns_come_from_apriori_with_provenance(tmp_path: Path) -> None:
    train = load_sample().split("train")
    report = distill(
        train, kinds=["pattern"], kb_dir=tmp_path, pattern_options={"min_support": 0.1}
    )
    assert report.per_kind["pattern"] == len(report.candidates) > 0
    for item in report.candidates:
        assert (item.kind, item.teacher) == ("pattern", "apriori")
        assert "are often bundled" in item.text
        assert item.source_session_ids
        assert item.source_splits == ("train",)
        assert item.stats["support"] >= 0.1
    assert report.teacher_requests == 0


def test_candidates_go_to_the_knowledge_base(tmp_path: Path) -> None:
    class Sink:
        def __init__(self) -> None:
            self.added: list[KnowledgeItem] = []

        def add(self, candidates: list[KnowledgeItem], *, force: bool = False) -> dict[str, int]:
            self.added.extend(candidates)
            return {"added": len(candidates)}

    sink = Sink()
    report = distill(
        [A, B], kinds=["rule"], teacher=ScriptedLLM(teacher_reply), kb_dir=tmp_path, kb=sink
    )
    assert report.kb_result == {"added": 2}
    assert sink.added == report.candidates


def test_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a teacher"):
        distill([A], kinds=["rule"], kb_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown knowledge kind"):
        distill([A], kinds=["rules"], kb_dir=tmp_path)


def test_sessions_without_ground_truth_are_skipped(tmp_path: Path) -> None:
    unlabeled = A.model_copy(update={"bundles": None})
    teacher = ScriptedLLM(teacher_reply)
    report = distill([unlabeled], kinds=["rule", "thought"], teacher=teacher, kb_dir=tmp_path)
    assert report.skipped_no_truth == 1
    assert teacher.history == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"rules": ["Pair a camera with its lens.", "Keep chargers with phones"]}',
            ["Pair a camera with its lens.", "Keep chargers with phones."],
        ),
        (
            "Here are the rules:\n1. Pair a camera with its lens.\n2) keep chargers with phones\n",
            ["Pair a camera with its lens.", "Keep chargers with phones."],
        ),
        (
            '["Rule 1: Bundle a printer with its ink.", "Bundle a printer with its ink"]',
            ["Bundle a printer with its ink."],
        ),
        ('- Put product 2 with product 5.\n- Too short.\n- {"rules": }', []),
    ],
)
def test_parse_rules(text: str, expected: list[str]) -> None:
    assert parse_rules(text) == expected


def test_looping_thoughts_and_rules_are_rejected(tmp_path: Path) -> None:
    loop = "the bundles are made of products that go together; " * 8

    def reply(request: ChatRequest) -> str:
        if request.prompt_version.startswith("teacher_rules"):
            return f"- {loop}"
        return _answer(_truth(BY_ID[request.custom_id]), thought=loop)

    report = distill([A], kinds=["rule", "thought"], teacher=ScriptedLLM(reply), kb_dir=tmp_path)
    assert report.thought_rejections == {"repetitive": 1}
    assert report.candidates == []


def test_copied_fraction_spots_paraphrased_instructions() -> None:
    prompt = "Each rule is one short imperative sentence about kinds of products and purposes."
    assert copied_fraction("Each rule is one short sentence about kinds of products.", prompt) > 0.6
    assert copied_fraction("Bundle a camera with the lens that fits it.", prompt) == 0.0


def test_parse_rules_caps_the_count() -> None:
    text = "\n".join(f"- Rule about kind {i} of products to bundle." for i in range(9))
    assert len(parse_rules(text, max_rules=3)) == 3


def test_sessions_without_a_split_are_refused_unless_forced_and_recorded_unknown(
    tmp_path: Path,
) -> None:
    unlabelled = _session("U", 4, [[1, 2]], split=None)
    with pytest.raises(LeakageError, match=r"1 session \(electronic/U\) without a known split"):
        distill(
            [A, unlabelled], kinds=["rule"], teacher=ScriptedLLM(teacher_reply), kb_dir=tmp_path
        )
    with pytest.raises(LeakageError, match="without a known split feed pattern mining"):
        distill([unlabelled], kinds=["pattern"], kb_dir=tmp_path)

    def reply(request: ChatRequest) -> str:
        return _answer([[1, 2]], thought="Products 1 and 2 are the two halves of one set.")

    report = distill(
        [unlabelled], kinds=["thought"], teacher=ScriptedLLM(reply), kb_dir=tmp_path, force=True
    )
    assert report.candidates[0].source_splits == ("unknown",)


def test_the_refusal_says_when_force_would_help(tmp_path: Path) -> None:
    unlabelled = _session("U", 4, [[1, 2]], split=None)
    with pytest.raises(LeakageError, match=r"or force it \(--force\)"):
        distill([unlabelled], kinds=["pattern"], kb_dir=tmp_path)  # forcing unknown is allowed
    leaked = _session("T", 4, [[1, 2]], split="test")
    with pytest.raises(LeakageError) as caught:
        distill([leaked], kinds=["pattern"], kb_dir=tmp_path, force=True)
    assert "--force" not in str(caught.value)  # test labels never become patterns
