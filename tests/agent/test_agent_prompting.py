"""The student prompt: titles only, examples as turns, bounded schema, stable version."""

from __future__ import annotations

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.prompting import (
    KnowledgeSnippet,
    build_messages,
    build_prompt,
    build_request,
    fit_knowledge,
    prompt_version,
)
from bundlekd.data.answer import format_answer, parse_answer
from bundlekd.llm.tokens import approx_tokens


def test_prompt_never_shows_categories_even_when_the_session_has_them(session_factory):
    session = session_factory("s", ["Camera bag", "UV filter"], [((1, 2), "gear")], categories=True)
    example = session_factory("t", ["Phone case", "Charger"], [((1, 2), "phone")], categories=True)
    messages = build_messages(session, examples=[example], config=AgentConfig())
    text = "\n".join(m.content for m in messages)
    assert "SecretCategory" not in text
    assert "Electronics" not in text
    assert "1. Camera bag\n2. UV filter" in text
    assert "1. Phone case\n2. Charger" in text


def test_examples_become_user_assistant_turns_before_the_session(train_sessions, session_factory):
    session = session_factory("q", ["Tripod", "Camera strap", "Mouse pad"])
    messages = build_messages(session, examples=train_sessions[:2], config=AgentConfig())
    assert [m.role for m in messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    first_example = train_sessions[0]
    assert messages[2].content == format_answer(first_example.bundles, first_example)
    parsed = parse_answer(messages[2].content, first_example)
    assert parsed.valid
    assert parsed.bundles == first_example.bundles
    assert messages[1].content.startswith("Products:\n1. DSLR camera bag")
    assert "1. Tripod\n2. Camera strap\n3. Mouse pad" in messages[-1].content
    assert "3 products" in messages[-1].content


def test_schema_enum_is_one_to_n_and_absent_when_unconstrained(session_factory):
    session = session_factory("s", ["a", "b", "c", "d", "e", "f", "g"])
    request = build_request(session, config=AgentConfig(mode="zero_shot"))
    item_schema = request.json_schema["properties"]["bundles"]["items"]["properties"]["items"]
    assert item_schema["items"]["enum"] == [1, 2, 3, 4, 5, 6, 7]
    assert item_schema["maxItems"] == 7
    assert request.json_schema["properties"]["bundles"]["maxItems"] == 5
    assert request.custom_id == "electronic/s"
    assert request.sampling.max_new_tokens == 320
    loose = build_request(session, config=AgentConfig(mode="zero_shot", constrained=False))
    assert loose.json_schema is None


def test_prompt_version_is_stable_and_tracks_the_templates_used(train_sessions, session_factory):
    config = AgentConfig(mode="few_shot")
    one = build_request(
        session_factory("a", ["x", "y"]), examples=train_sessions[:1], config=config
    )
    two = build_request(session_factory("b", ["p", "q", "r"]), config=config)
    assert one.prompt_version == two.prompt_version == prompt_version(config)
    assert len(one.prompt_version) == 12
    snippet = KnowledgeSnippet(id="k1", kind="rule", text="Bags go with filters.")
    with_knowledge = build_request(
        session_factory("c", ["x", "y"]), knowledge=[snippet], config=config
    )
    assert with_knowledge.prompt_version != one.prompt_version
    assert with_knowledge.prompt_version == prompt_version(config, with_knowledge=True)
    assert "Bags go with filters." in with_knowledge.messages[0].content


def test_knowledge_is_filtered_by_kind_and_cut_to_the_budget():
    config = AgentConfig(knowledge_token_budget=40, knowledge_kinds=("rule",))
    snippets = [
        KnowledgeSnippet("p1", "pattern", "Cases and screen protectors go together."),
        KnowledgeSnippet("r1", "rule", "A bundle needs at least two related products."),
        KnowledgeSnippet("r2", "rule", "Never bundle a cable with food. " * 5),
    ]
    kept = fit_knowledge(snippets, config)
    assert [k.id for k in kept] == ["r1"]
    long_only = fit_knowledge(snippets[2:], config)
    assert [k.id for k in long_only] == ["r2"]
    assert approx_tokens(long_only[0].text) <= 40
    assert long_only[0].text.endswith("…")


def test_examples_are_dropped_least_relevant_first_when_the_prompt_is_too_long(session_factory):
    long_titles = [f"Very long product title number {n} " * 4 for n in range(10)]
    examples = [
        session_factory(f"t{n}", long_titles, [((1, 2), "x")], split="train") for n in range(4)
    ]
    config = AgentConfig(n_examples=4, max_prompt_tokens=1400)
    parts = build_prompt(session_factory("q", long_titles), examples=examples, config=config)
    assert 0 < len(parts.examples) < 4
    assert [e.session_id for e in parts.examples] == [f"t{n}" for n in range(len(parts.examples))]
    assert sum(approx_tokens(m.content) for m in parts.messages) <= 1400


def test_long_titles_are_cut(session_factory):
    session = session_factory("s", ["A" * 500, "short"])
    messages = build_messages(session, config=AgentConfig(max_title_chars=50))
    line = messages[-1].content.splitlines()[1]
    assert line.startswith("1. AAAA")
    assert len(line) == len("1. ") + 50


def test_budgets_can_count_with_a_real_tokenizer(session_factory):
    words = lambda text: len(text.split())  # noqa: E731  # a "tokenizer": one token per word
    config = AgentConfig(knowledge_token_budget=22, knowledge_kinds=("rule",))
    long_rule = KnowledgeSnippet("r1", "rule", "Never bundle a cable with food. " * 10)
    (kept,) = fit_knowledge([long_rule], config, count_tokens=words)
    assert kept.text.endswith("…")
    assert words(kept.text) == 20  # budget minus 2 tokens of framing
    session = session_factory("q", ["Camera bag", "UV filter"])
    default = build_request(session, knowledge=[long_rule], config=config)
    counted = build_request(session, knowledge=[long_rule], config=config, count_tokens=words)
    assert default.messages[0].content != counted.messages[0].content  # the cut moved
