"""The ONLY student prompt builder: inference prompts and SFT data (`finetune.sft_data`).

Message order puts the static parts first (system instructions, then knowledge, then worked
examples) so backends can reuse the prefix, and the session last. Worked examples are earlier
user/assistant turns (a one-shot conversation is what makes a 135M model answer in shape,
LIBS.md §1.4). Every session is shown through `Session.public()`: titles only, never categories
(DESIGN.md §2, label leak).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bundlekd.agent.config import AgentConfig
from bundlekd.data.answer import MAX_INTENT_CHARS, answer_json_schema, format_answer
from bundlekd.data.schema import Session
from bundlekd.files import canonical_hash
from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.llm.tokens import TokenCounter, approx_tokens, truncate_to_tokens
from bundlekd.prompts import render, template_version


@dataclass(frozen=True, slots=True)
class KnowledgeSnippet:
    """One piece of retrieved knowledge as the prompt sees it."""

    id: str
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class PromptParts:
    """What went into one prompt (so callers can record the knowledge actually used)."""

    messages: tuple[Message, ...]
    knowledge: tuple[KnowledgeSnippet, ...]
    examples: tuple[Session, ...]
    prompt_version: str


def prompt_title(title: str, max_title_chars: int) -> str:
    """A title as prompts show it: whitespace collapsed, cut to a length with an ellipsis."""
    title = " ".join(title.split())
    if len(title) > max_title_chars:
        title = title[: max_title_chars - 1].rstrip() + "…"
    return title


def listing_text(session: Session, max_title_chars: int) -> str:
    """Numbered product lines of the public view ("1. title"), titles cut to a length."""
    items = session.public().items
    return "\n".join(
        f"{index}. {prompt_title(item.title, max_title_chars)}"
        for index, item in enumerate(items, start=1)
    )


def task_text(session: Session, config: AgentConfig) -> str:
    """The user turn that asks for one session's bundles."""
    prompt = render(
        "student_task",
        listing=listing_text(session, config.max_title_chars),
        n_items=len(session.items),
    )
    return prompt.text


def target_text(session: Session, config: AgentConfig, thought: str | None = None) -> str:
    """The assistant answer for a session with ground truth (worked examples, SFT targets).

    `thought` (a distilled chain of thought) goes before the bundles when given.
    """
    if session.bundles is None:
        raise ValueError(f"session {session.session_id!r} has no ground-truth bundles")
    return format_answer(session.bundles[: config.max_bundles], session, thought=thought)


def fit_knowledge(
    snippets: Sequence[KnowledgeSnippet],
    config: AgentConfig,
    count_tokens: TokenCounter | None = None,
) -> tuple[KnowledgeSnippet, ...]:
    """Keep snippets of allowed kinds, in order, within the knowledge token budget.

    A single snippet longer than the whole budget (a long thought) is cut rather than lost.
    `count_tokens` counts tokens (default: the `approx_tokens` estimate).
    """
    count = count_tokens or approx_tokens
    kept: list[KnowledgeSnippet] = []
    budget = config.knowledge_token_budget
    for snippet in snippets:
        if snippet.kind not in config.knowledge_kinds:
            continue
        text = " ".join(snippet.text.split())
        cost = count(text) + 2
        if cost > budget:
            if kept or budget < 20:
                break
            text = truncate_to_tokens(text, budget - 2, count_tokens)
            cost = budget
        kept.append(KnowledgeSnippet(id=snippet.id, kind=snippet.kind, text=text))
        budget -= cost
    return tuple(kept)


def _prompt_version(names: Sequence[str]) -> str:
    return canonical_hash({name: template_version(name) for name in sorted(set(names))}, 12)


def build_prompt(
    session: Session,
    *,
    examples: Sequence[Session] = (),
    knowledge: Sequence[KnowledgeSnippet] = (),
    config: AgentConfig,
    count_tokens: TokenCounter | None = None,
) -> PromptParts:
    """Messages for one session plus what they used (knowledge kept, examples kept, version).

    Args:
        session: The session to bundle (only its titles are shown).
        examples: Training sessions with ground truth, most relevant first.
        knowledge: Retrieved snippets, most relevant first; cut to the token budget.
        config: The agent settings.
        count_tokens: Counts tokens for the budgets, e.g. the backend's `LLM.count_tokens`;
            default the `approx_tokens` estimate.

    Raises:
        ValueError: When an example has no ground-truth bundles.
    """
    templates = ["student_system", "student_task"]
    system = render("student_system", max_bundles=config.max_bundles).text
    count = count_tokens or approx_tokens
    kept_knowledge = fit_knowledge(knowledge, config, count_tokens)
    if kept_knowledge:
        templates.append("student_knowledge")
        system += "\n\n" + render("student_knowledge", snippets=kept_knowledge).text
    question = task_text(session, config)

    turns = [(task_text(ex, config), target_text(ex, config)) for ex in examples]
    used = count(system) + count(question) + 10
    kept_turns: list[tuple[str, str]] = []
    kept_examples: list[Session] = []
    for example, (user, assistant) in zip(examples, turns, strict=True):
        cost = count(user) + count(assistant) + 10
        if used + cost > config.max_prompt_tokens:
            break  # examples arrive most relevant first: drop the tail
        used += cost
        kept_turns.append((user, assistant))
        kept_examples.append(example)

    messages = [Message("system", system)]
    for user, assistant in kept_turns:
        messages += [Message("user", user), Message("assistant", assistant)]
    messages.append(Message("user", question))
    return PromptParts(
        messages=tuple(messages),
        knowledge=kept_knowledge,
        examples=tuple(kept_examples),
        prompt_version=_prompt_version(templates),
    )


def build_messages(
    session: Session,
    *,
    examples: Sequence[Session] = (),
    knowledge: Sequence[KnowledgeSnippet] = (),
    config: AgentConfig,
    count_tokens: TokenCounter | None = None,
) -> tuple[Message, ...]:
    """The chat messages for one session (see `build_prompt`)."""
    parts = build_prompt(
        session, examples=examples, knowledge=knowledge, config=config, count_tokens=count_tokens
    )
    return parts.messages


def request_from_prompt(session: Session, parts: PromptParts, config: AgentConfig) -> ChatRequest:
    """Wrap built messages into a ChatRequest (schema, sampling, adapter, ids)."""
    schema = (
        answer_json_schema(len(session.items), max_bundles=config.max_bundles)
        if config.constrained
        else None
    )
    sampling = Sampling(
        max_new_tokens=config.max_new_tokens, temperature=config.temperature, seed=config.seed
    )
    return ChatRequest(
        messages=parts.messages,
        sampling=sampling,
        json_schema=schema,
        adapter=config.adapter,
        custom_id=f"{session.domain}/{session.session_id}",
        prompt_version=parts.prompt_version,
    )


def build_request(
    session: Session,
    *,
    examples: Sequence[Session] = (),
    knowledge: Sequence[KnowledgeSnippet] = (),
    config: AgentConfig,
    count_tokens: TokenCounter | None = None,
) -> ChatRequest:
    """The full backend request for one session (see `build_prompt`)."""
    parts = build_prompt(
        session, examples=examples, knowledge=knowledge, config=config, count_tokens=count_tokens
    )
    return request_from_prompt(session, parts, config)


def prompt_version(config: AgentConfig, *, with_knowledge: bool | None = None) -> str:
    """The version a run's requests carry (knowledge template included when icl uses it)."""
    templates = ["student_system", "student_task"]
    if config.mode == "agent":
        templates = (
            ["agent_system", "agent_example_user", "agent_example_answer", "agent_name"]
            if config.variant == "name"
            else ["student_system", "agent_edit"]
        )
    if with_knowledge is None:
        with_knowledge = config.uses_knowledge
    if with_knowledge:
        templates.append("student_knowledge")
    return _prompt_version(templates)


# --- the agent mode: the grouping tool proposes, the LLM names (or edits) ---------------------

HINTS_SHOWN = 3  # intents of similar training bundles shown (and offered) per proposal


def proposal_numbers(positions: Sequence[int]) -> str:
    """0-based positions as the prompt's product numbers: "1, 3, 4"."""
    return ", ".join(str(p + 1) for p in positions)


def intents_json_schema(
    n_bundles: int, choices: Sequence[Sequence[str]] | None = None
) -> dict[str, object]:
    """One intent per proposed bundle, in order (the naming variant's answer).

    With `choices`, bundle k's intent must be one of choices[k] (an empty list leaves it free).
    """
    free: dict[str, object] = {"type": "string", "maxLength": MAX_INTENT_CHARS}
    intents: dict[str, object] = {
        "type": "array",
        "items": free,
        "minItems": n_bundles,
        "maxItems": n_bundles,
    }
    if choices is not None:
        intents["prefixItems"] = [{"enum": list(dict.fromkeys(c))} if c else free for c in choices]
        intents["items"] = False
    return {
        "type": "object",
        "properties": {"intents": intents},
        "required": ["intents"],
        "additionalProperties": False,
    }


def build_agent_prompt(
    session: Session,
    proposals: Sequence[tuple[Sequence[int], Sequence[str]]],
    *,
    knowledge: Sequence[KnowledgeSnippet] = (),
    config: AgentConfig,
) -> PromptParts:
    """Messages for the agent mode.

    Args:
        session: the session (titles only are shown).
        proposals: (0-based positions, intents of similar training bundles) per proposed bundle.
        knowledge: retrieved snippets, cut to the knowledge budget.
        config: `variant` "name" asks for one intent per proposal; "edit" asks for final
            bundles (the student answer format) with the proposals as suggestions.
    """
    budget = min(config.knowledge_token_budget, config.agent_knowledge_tokens)
    kept_knowledge = fit_knowledge(
        knowledge, config.model_copy(update={"knowledge_token_budget": budget})
    )
    listing = listing_text(session, config.max_title_chars)
    if config.variant == "name":
        templates = ["agent_system", "agent_example_user", "agent_example_answer", "agent_name"]
        system = render("agent_system").text
        bundles = [
            {
                "numbers": proposal_numbers(positions),
                "hints": ", ".join(f'"{h}"' for h in hints[:HINTS_SHOWN]) or "none",
            }
            for positions, hints in proposals
        ]
        user = render("agent_name", listing=listing, bundles=bundles).text
    else:
        templates = ["student_system", "agent_edit"]
        system = render("student_system", max_bundles=config.max_bundles).text
        bundles = [
            {"numbers": proposal_numbers(positions), "hint": hints[0] if hints else "one purpose"}
            for positions, hints in proposals
        ]
        user = render("agent_edit", listing=listing, bundles=bundles).text
    if kept_knowledge:
        templates.append("student_knowledge")
        system += "\n\n" + render("student_knowledge", snippets=kept_knowledge).text
    messages = [Message("system", system)]
    if config.variant == "name":  # a one-shot turn: a 135M model copies schema placeholders
        messages += [
            Message("user", render("agent_example_user").text),
            Message("assistant", render("agent_example_answer").text),
        ]
    messages.append(Message("user", user))
    return PromptParts(
        messages=tuple(messages),
        knowledge=kept_knowledge,
        examples=(),
        prompt_version=_prompt_version(templates),
    )


def agent_request(
    session: Session,
    parts: PromptParts,
    hints: Sequence[Sequence[str]],
    config: AgentConfig,
) -> ChatRequest:
    """The backend request of the agent mode (schema by variant and intent choice)."""
    if config.variant == "name":
        choices = (
            [[h[:MAX_INTENT_CHARS] for h in group[:HINTS_SHOWN]] for group in hints]
            if config.intent_choice == "hints"
            else None
        )
        schema: dict[str, object] | None = intents_json_schema(len(hints), choices)
    else:
        schema = answer_json_schema(len(session.items), max_bundles=config.max_bundles)
    sampling = Sampling(
        max_new_tokens=config.max_new_tokens, temperature=config.temperature, seed=config.seed
    )
    return ChatRequest(
        messages=parts.messages,
        sampling=sampling,
        json_schema=schema if config.constrained else None,
        adapter=config.adapter,
        custom_id=f"{session.domain}/{session.session_id}",
        prompt_version=parts.prompt_version,
    )
