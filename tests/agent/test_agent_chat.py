"""ChatSession: first turn, deterministic edit commands, free-form questions via the LLM."""

from __future__ import annotations

import pytest

from bundlekd.agent.chat import ChatSession, bundle_line, session_from_titles
from bundlekd.agent.config import AgentConfig
from bundlekd.agent.student import StudentAgent
from bundlekd.llm.fake import ScriptedLLM

FIRST = (
    '{"bundles": [{"items": [1, 2, 3, 4], "intent": "Camera gear"}, '
    '{"items": [5, 6], "intent": "Phone kit"}]}'
)
TITLES = ["Camera bag", "UV filter", "Lens cap", "Cleaning kit", "Phone case", "Phone charger"]


@pytest.fixture
def chat():
    llm = ScriptedLLM([FIRST, "Because they protect the camera.", "Yes."])
    session = session_from_titles(TITLES, domain="electronic")
    chat = ChatSession(StudentAgent(llm, AgentConfig(mode="zero_shot")), session)
    return chat, llm


def _positions(chat):
    return [[chat.session.position(i) for i in b.items] for b in chat.bundles]


def test_first_turn_generates_bundles_with_intents(chat):
    chat, llm = chat
    turn = chat.start()
    assert turn.kind == "bundles"
    assert turn.prediction.parsed
    assert [b.intent for b in turn.bundles] == ["Camera gear", "Phone kit"]
    assert chat.lines() == ["1. Camera gear: products 1, 2, 3, 4", "2. Phone kit: products 5, 6"]
    assert llm.history[0].json_schema is not None


def test_edit_commands_are_applied_locally(chat):
    chat, llm = chat
    chat.start()
    assert chat.send("split 1").kind == "edit"
    assert _positions(chat) == [[1, 2], [3, 4], [5, 6]]
    assert chat.send("merge bundle 1 and 3").kind == "edit"
    assert _positions(chat) == [[1, 2, 5, 6], [3, 4]]
    assert chat.send("rename 2 Lens care").kind == "edit"
    assert chat.bundles[1].intent == "Lens care"
    assert chat.send("split 1 5 6").kind == "edit"
    assert _positions(chat) == [[1, 2], [5, 6], [3, 4]]
    assert chat.send("remove 2").kind == "edit"
    assert _positions(chat) == [[1, 2], [3, 4]]
    assert chat.send("show").bundles == tuple(chat.bundles)
    assert "merge 1 2" in chat.send("help").message
    assert len(llm.history) == 1  # no edit reached the model


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        ("merge 1", "two bundle numbers"),
        ("merge 1 7", "no bundle 7"),
        ("remove", "needs a bundle number"),
        ("split 2", "at least 2 products"),
        ("split 1 5", "not all in bundle 1"),
        ("rename 1", "needs a bundle number and an intent"),
        ("rename 9 Foo", "no bundle 9"),
    ],
)
def test_bad_edit_commands_explain_themselves_and_change_nothing(chat, command, needle):
    chat, _ = chat
    chat.start()
    before = list(chat.bundles)
    turn = chat.send(command)
    assert turn.kind == "error"
    assert needle in turn.message
    assert chat.bundles == before


def test_free_form_questions_go_to_the_llm_with_context(chat):
    chat, llm = chat
    chat.start()
    chat.send("rename 1 Photo kit")
    turn = chat.send("why is the lens cap in bundle 1?")
    assert (turn.kind, turn.message) == ("answer", "Because they protect the camera.")
    request = llm.history[-1]
    assert request.json_schema is None
    system = request.messages[0].content
    assert "1. Camera bag" in system
    assert "1. Photo kit: products 1, 2, 3, 4" in system
    assert request.messages[-1].content == "why is the lens cap in bundle 1?"
    chat.send("and the charger?")
    follow_up = llm.history[-1].messages
    assert [m.role for m in follow_up] == ["system", "user", "assistant", "user"]
    assert follow_up[2].content == "Because they protect the camera."


def test_unreadable_first_answer_starts_with_no_bundles():
    agent = StudentAgent(ScriptedLLM(["no idea"]), AgentConfig(mode="zero_shot"))
    chat = ChatSession(agent, session_from_titles(["a", "b"]))
    turn = chat.start()
    assert turn.bundles == ()
    assert "could not be read" in turn.message
    assert chat.send("merge 1 2").kind == "error"


def test_session_from_titles_and_bundle_line():
    session = session_from_titles(["  Camera   bag ", "", "UV filter"])
    assert session.titles == ["Camera bag", "UV filter"]
    assert session.session_id == session_from_titles(["Camera bag", "UV filter"]).session_id
    with pytest.raises(ValueError):
        session_from_titles([" "])
    from bundlekd.data.schema import Bundle

    line = bundle_line(session, 1, Bundle(items=("p1", "p2"), intent=""))
    assert line == "1. (no intent): products 1, 2"


def test_looping_replies_are_trimmed():
    from bundlekd.agent.chat import trim_repetition

    looped = "These are two products. For example, " + "a product that is " * 4 + "a"
    assert trim_repetition(looped) == "These are two products. For example, a product that is …"
    assert trim_repetition("Because they protect the camera.") == "Because they protect the camera."
