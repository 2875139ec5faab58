"""StudentAgent: batching, parsing of model replies into predictions, failure semantics."""

from __future__ import annotations

import pytest

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.examples import ExampleIndex
from bundlekd.agent.prompting import KnowledgeSnippet
from bundlekd.agent.student import KnowledgeSource, StudentAgent
from bundlekd.errors import ConfigError, LLMError
from bundlekd.llm.base import Completion
from bundlekd.llm.embeddings import HashingEmbedder
from bundlekd.llm.fake import ScriptedLLM

ZERO = AgentConfig(mode="zero_shot", batch_size=2)


def test_valid_reply_becomes_bundles_with_item_ids(test_sessions):
    llm = ScriptedLLM(['{"bundles": [{"items": [1, 2], "intent": "Camera gear"}]}'])
    predictions = StudentAgent(llm, ZERO).generate(test_sessions[:1])
    (prediction,) = predictions
    assert prediction.parsed
    assert prediction.session_id == "s1"
    assert prediction.domain == "electronic"
    assert [b.items for b in prediction.bundles] == [("s1-i1", "s1-i2")]
    assert prediction.bundles[0].intent == "Camera gear"
    assert prediction.method == "zero_shot"
    assert prediction.tokens > 0


def test_garbage_output_is_an_invalid_record_not_an_exception(test_sessions):
    llm = ScriptedLLM(["I think the camera bag is nice. {not json", '{"bundles": "none"}', "[]"])
    predictions = StudentAgent(llm, ZERO).generate(test_sessions[:3])
    assert [p.parsed for p in predictions] == [False, False, True]
    assert predictions[0].bundles == ()
    assert predictions[0].raw.startswith("I think")
    assert any("unparsable" in e for e in predictions[0].errors)
    assert any("'bundles'" in e for e in predictions[1].errors)
    assert predictions[2].bundles == ()  # a bare empty list is a valid "no bundles" answer


def test_out_of_range_references_are_dropped(test_sessions):
    reply = '{"bundles": [{"items": [1, 9, 2], "intent": "a"}, {"items": [3, 17], "intent": "b"}]}'
    (prediction,) = StudentAgent(ScriptedLLM([reply]), ZERO).generate(test_sessions[:1])
    assert prediction.parsed
    assert [b.items for b in prediction.bundles] == [("s1-i1", "s1-i2")]
    assert any("17" in e for e in prediction.errors)


def test_cut_off_output_says_so(recording_llm, test_sessions):
    cut = Completion(text='{"bundles": [{"items": [1, 2', finish_reason="length")
    (prediction,) = StudentAgent(recording_llm(cut), ZERO).generate(test_sessions[:1])
    # The parser repairs cut-off JSON (json_repair) and says so.
    assert prediction.parsed
    assert [b.items for b in prediction.bundles] == [("s1-i1", "s1-i2")]
    assert any("repaired" in e for e in prediction.errors)
    garbled = Completion(text="[1, 2, {", finish_reason="length")
    (unreadable,) = StudentAgent(recording_llm(garbled), ZERO).generate(test_sessions[:1])
    assert not unreadable.parsed
    assert any("max_new_tokens=320" in e for e in unreadable.errors)


def test_one_failed_completion_does_not_sink_the_batch(recording_llm, test_sessions):
    def reply(request):
        if request.custom_id.endswith("/s2"):
            return Completion(text="", finish_reason="error", error="CUDA out of memory")
        return '{"bundles": [{"items": [1, 2], "intent": "x"}]}'

    predictions = StudentAgent(recording_llm(reply), ZERO).generate(test_sessions[:3])
    assert [p.parsed for p in predictions] == [True, False, True]
    assert predictions[1].errors == ("backend: CUDA out of memory",)


def test_whole_batch_failure_propagates(recording_llm, test_sessions):
    with pytest.raises(LLMError, match="unreachable"):
        StudentAgent(recording_llm(fail_on_call=1), ZERO).generate(test_sessions)


def test_requests_are_sent_in_batches_in_order(recording_llm, test_sessions):
    llm = recording_llm()
    predictions = StudentAgent(llm, ZERO).generate(test_sessions)
    assert [len(b) for b in llm.batches] == [2, 2, 1]
    assert [p.session_id for p in predictions] == ["s1", "s2", "s3", "s4", "s5"]
    assert [r.custom_id for r in llm.requests] == [f"electronic/s{n}" for n in range(1, 6)]


def test_few_shot_uses_the_nearest_training_session(recording_llm, train_sessions, test_sessions):
    llm = recording_llm()
    index = ExampleIndex(train_sessions, HashingEmbedder())
    StudentAgent(llm, AgentConfig(mode="few_shot", n_examples=1), example_index=index).generate(
        test_sessions[:1]
    )
    (request,) = llm.requests
    assert [m.role for m in request.messages] == ["system", "user", "assistant", "user"]
    assert "DSLR camera bag" in request.messages[1].content  # t1 is the camera session


class _Knowledge:
    def __init__(self) -> None:
        self.seen = []

    def lookup(self, session, k):
        self.seen.append(session)
        return [
            KnowledgeSnippet("k-rule", "rule", "Camera bags go with lens filters."),
            KnowledgeSnippet("k-thought", "thought", "Photographers protect their lenses."),
        ][:k]


def test_icl_records_knowledge_ids_and_looks_up_the_public_view(
    recording_llm, train_sessions, session_factory
):
    knowledge = _Knowledge()
    assert isinstance(knowledge, KnowledgeSource)
    config = AgentConfig(mode="icl", top_k=2, knowledge_kinds=("rule",))
    agent = StudentAgent(
        recording_llm(),
        config,
        example_index=ExampleIndex(train_sessions, HashingEmbedder()),
        knowledge_source=knowledge,
    )
    session = session_factory("s", ["Camera bag", "UV filter"], [((1, 2), "gear")], categories=True)
    (prediction,) = agent.generate([session])
    assert prediction.knowledge_ids == ("k-rule",)
    assert prediction.method == "icl-k1-top2"
    assert knowledge.seen[0].bundles is None
    assert all(item.categories is None for item in knowledge.seen[0].items)


def test_modes_that_need_examples_or_knowledge_refuse_to_start_without(recording_llm):
    with pytest.raises(ConfigError, match="example index"):
        StudentAgent(recording_llm(), AgentConfig(mode="few_shot"))
    with pytest.raises(ConfigError, match="knowledge"):
        StudentAgent(recording_llm(), AgentConfig(mode="icl", n_examples=0))
    assert StudentAgent(recording_llm(), AgentConfig(mode="few_shot", n_examples=0))
