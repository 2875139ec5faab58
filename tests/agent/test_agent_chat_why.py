"""Chat's "why": answered from the grouping tool's evidence, never by the LLM instead of it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bundlekd.agent.chat import ChatSession, session_from_titles
from bundlekd.agent.config import AgentConfig
from bundlekd.agent.tool_agent import ToolAgent
from bundlekd.agent.why import is_why, parse_why
from bundlekd.knowledge_base.grouping.explain import Decoding, Evidence
from bundlekd.knowledge_base.grouping.tool import Proposal
from bundlekd.knowledge_base.retrieval.item_memory import Neighbour
from bundlekd.llm.base import Completion
from bundlekd.llm.fake import ScriptedLLM

TITLES = ["Camera bag", "UV filter", "Lens cap", "Tripod", "Dog food"]
MATRIX = np.array(
    [
        [1.0, 0.91, 0.82, 0.1, 0.05],
        [0.91, 1.0, 0.74, 0.2, 0.05],
        [0.82, 0.74, 1.0, 0.64, 0.05],
        [0.1, 0.2, 0.64, 1.0, 0.05],
        [0.05, 0.05, 0.05, 0.05, 1.0],
    ]
)


class FakeProposer:
    """Proposes products 1-3 as one bundle (no evidence of its own: the test passes one)."""

    def propose(self, sessions):
        proposal = Proposal((0, 1, 2), "Camera gear", (), ("ex-a",), 0.82)
        return [[proposal] for _ in sessions]

    def describe(self):
        return {"scorer": "fake"}


def _evidence(session):
    neighbour = Neighbour("ex-a", "electronic", "camera bag", 0.9, "Camera gear", ())
    decoding = Decoding(
        domain=session.domain,
        scorer="learned",
        scale="probability",
        tuned=True,
        settings={"policy": "partition", "threshold": 0.5, "fallback_pair": True},
        objective="gjs",
        guard={"met": True},
        val_scores={"gjs": 0.66},
        val_bar={},
        fallback=False,
    )
    neighbours = [[neighbour], [neighbour], [], [], []]
    return Evidence(session, MATRIX, neighbours, [[0, 1, 2]], decoding)


def _chat(llm=None, phrase=False, calls=None):
    def source(session):
        if calls is not None:
            calls.append(session.session_id)
        return _evidence(session)

    mode = "agent" if llm is not None else "tool"
    agent = ToolAgent(FakeProposer(), AgentConfig(mode=mode), llm)
    session = session_from_titles(TITLES, domain="electronic")
    chat = ChatSession(agent, session, evidence=source, phrase_with_llm=phrase)
    return chat


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("line", "bundle", "products"),
    [
        ("why", None, ()),
        ("Why?", None, ()),
        ("why is 3 in bundle 1?", 1, (3,)),
        ("why bundle 2", 2, ()),
        ("why not 4 in bundle #1", 1, (4,)),
        ("why 2 and 5", None, (2, 5)),
        ("explain products 1, 2, 4", None, (1, 2, 4)),
    ],
)
def test_questions_are_read_for_bundle_and_product_numbers(line, bundle, products):
    assert is_why(line)
    question = parse_why(line)
    assert (question.bundle, question.products) == (bundle, products)


def test_other_lines_are_not_why_questions():
    assert not is_why("what is a UV filter?")
    assert not is_why("whyever")


def test_why_is_3_in_bundle_1_prints_the_evidence_without_an_llm():
    calls: list[str] = []
    chat = _chat(calls=calls)
    chat.start()
    turn = chat.send("why is 3 in bundle 1?")
    assert turn.kind == "explain"
    text = _flat(turn.message)
    assert 'It is in bundle 1 "Camera gear" (products 1, 2, 3)' in text
    assert "mean p 0.78 to the others (1: 0.82, 2: 0.74)" in text
    assert "the bundle's weakest link: 2-3 p 0.74" in text
    assert "partition at threshold 0.50" in text
    assert "No training bundle in the item memory matches product 3 with another" in text
    assert turn.explanation is not None
    assert turn.explanation.scores[0][2] == 0.82
    chat.send("why")
    assert calls == [chat.session.session_id]  # the evidence is computed once per session


def test_why_alone_explains_every_bundle_and_what_is_left_out():
    chat = _chat()
    chat.start()
    text = _flat(chat.send("why").message)
    assert 'Bundle 1 "Camera gear": products 1, 2, 3' in text
    assert "Left out: 4. Tripod to bundle 1: best 3-4 p 0.64" in text
    assert "Pair p of every two products" in text
    assert "ex-a" in text  # the training bundle that matches


def test_why_follows_the_users_edits_and_refuses_unknown_numbers():
    chat = _chat()
    chat.start()
    chat.send("split 1 3 4")  # not possible: 4 is not in bundle 1
    chat.send("remove 1")
    assert chat.bundles == []
    text = _flat(chat.send("why 3").message)
    assert "It is in no bundle." in text
    assert chat.send("why bundle 1").message == "no bundle 1: there are 0"
    assert chat.send("why 9").message == "no product 9: the session has 5"


def test_a_pair_question_gets_the_pair_score():
    chat = _chat()
    chat.start()
    text = _flat(chat.send("why 4 and 3").message)
    assert "Pair p 0.64 (threshold 0.50, log-odds +0.58 past it); they are not in one bundle" in (
        text
    )


def test_the_llm_words_the_evidence_only_when_asked_and_after_it():
    replies = iter([json.dumps({"intents": ["Camera gear"]}), "They are all camera accessories."])
    llm = ScriptedLLM(lambda request: next(replies))
    chat = _chat(llm, phrase=True)
    chat.start()
    turn = chat.send("why is 3 in bundle 1?")
    evidence, _, wording = turn.message.partition("\n\nIn short")
    assert "mean p 0.78 to the others" in _flat(evidence)
    assert wording.endswith("They are all camera accessories.")
    prompt = llm.history[-1].messages[0].content
    assert "mean p 0.78 to the others" in _flat(prompt)
    assert llm.history[-1].messages[-1].content == "why is 3 in bundle 1?"

    quiet = ScriptedLLM(lambda request: json.dumps({"intents": ["Camera gear"]}))
    chat = _chat(quiet)  # the default: no wording, no model call for a why
    chat.start()
    chat.send("why")
    assert len(quiet.history) == 1


def test_a_failed_wording_keeps_the_evidence(recording_llm):
    def reply(request):
        if request.json_schema:
            return json.dumps({"intents": ["Camera gear"]})
        return Completion(text="", error="connection refused")

    chat = _chat(recording_llm(reply), phrase=True)
    chat.start()
    turn = chat.send("why bundle 1")
    assert turn.kind == "explain"
    assert 'Bundle 1 "Camera gear"' in turn.message
    assert "could not word it: connection refused" in turn.message

    down = recording_llm(json.dumps({"intents": ["Camera gear"]}), fail_on_call=2)
    chat = _chat(down, phrase=True)
    chat.start()
    turn = chat.send("why")
    assert turn.kind == "explain"
    assert 'Bundle 1 "Camera gear"' in turn.message
    assert "could not word it: endpoint unreachable" in turn.message


# --- a real tiny KB --------------------------------------------------------------------------


def test_why_on_a_real_tool_prints_the_tools_probabilities(learned_sample_kb: Path) -> None:
    from bundlekd.data.sources import load_sample
    from bundlekd.knowledge_base.kb import KnowledgeBase

    tool = KnowledgeBase.open(learned_sample_kb, read_only=True).grouping_tool()
    session = load_sample().split("test")[0]
    chat = ChatSession(ToolAgent(tool, AgentConfig(mode="tool")), session)
    chat.start()
    (matrix,) = tool.score([session])[1]
    first = chat.bundles[0]
    a, b = (session.position(i) for i in first.items[:2])
    turn = chat.send(f"why is {a} in bundle 1?")
    assert turn.kind == "explain"
    assert np.array_equal(np.array(turn.explanation.scores), matrix)
    assert f"{b}: {matrix[a - 1, b - 1]:.2f}" in turn.message
    pair = chat.send(f"why {a} and {b}")
    assert f"Pair p {matrix[a - 1, b - 1]:.2f}" in _flat(pair.message)
    assert all(len(line) <= 80 for line in chat.send("why").message.splitlines())


def test_the_chat_command_prints_the_evidence_for_why(
    learned_sample_kb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer
    from typer.testing import CliRunner

    from bundlekd.cli.chat import chat_command
    from bundlekd.llm import registry

    made: list[ScriptedLLM] = []

    def fake_get_llm(spec="smollm2", **options):
        def reply(request):  # names the proposals; anything else would be a wording
            if request.json_schema:
                n = request.json_schema["properties"]["intents"]["minItems"]
                return json.dumps({"intents": [f"named {k}" for k in range(n)]})
            return "worded by the model"

        made.append(ScriptedLLM(reply))
        return made[-1]

    monkeypatch.setattr(registry, "get_llm", fake_get_llm)
    app = typer.Typer()
    app.command("chat")(chat_command)
    app.command("other")(lambda: None)
    args = ["chat", "--source", "sample", "--session-id", "e017", "--embedder", "hashing"]
    args += ["--kb", str(learned_sample_kb)]
    result = CliRunner().invoke(app, args, input="why is 1 in bundle 1?\nwhy\nquit\n")
    assert result.exit_code == 0, result.output
    assert "Grouping tool's evidence" in result.output
    assert "It is in bundle 1" in result.output
    assert "Pair p of every two products" in result.output
    assert "worded by the model" not in result.output  # off by default
    assert len(made[0].history) == 1  # the naming call only

    worded = CliRunner().invoke(app, [*args, "--explain-with-llm"], input="why bundle 1\n")
    assert worded.exit_code == 0, worded.output
    assert "worded by the model" in worded.output
    assert worded.output.index("Bundle 1 ") < worded.output.index("worded by the model")


def test_three_products_are_explained_as_if_one_bundle():
    chat = _chat()
    chat.start()
    text = _flat(chat.send("why not 1, 2 and 4 together?").message)
    assert "Products 1, 2, 4 as one bundle:" in text
    assert "weakest link 1-4 p 0.10; not what the tool decodes" in text


@pytest.mark.slow  # loads the real default model and generates one short answer
def test_the_real_default_model_words_after_the_evidence(learned_sample_kb: Path) -> None:
    from bundlekd.data.sources import load_sample
    from bundlekd.errors import BackendUnavailableError
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.registry import get_llm

    llm = get_llm("smollm2", num_threads=1, batch_size=1)
    try:
        llm.load()
    except BackendUnavailableError as exc:
        pytest.skip(f"default model unavailable: {exc}")
    try:
        tool = KnowledgeBase.open(learned_sample_kb, read_only=True).grouping_tool()
        session = load_sample().split("test")[0]
        agent = ToolAgent(tool, AgentConfig(mode="tool"), llm)
        chat = ChatSession(agent, session, phrase_with_llm=True, max_reply_tokens=48)
        chat.start()
        turn = chat.send("why bundle 1")
    finally:
        llm.close()
    evidence, marker, wording = turn.message.partition("\n\nIn short (")
    assert marker, turn.message
    assert 'Bundle 1 "' in evidence
    assert "mean pair p" in evidence
    assert wording.startswith(llm.model_id)
