"""Deep thoughts: chain of thought conditioned on the ground truth (DESIGN.md §1, format 3).

The teacher sees a training session and its correct bundles and explains why they form (item
meta-information → user intent → bundle composition), answering ``{"thought": ..., "bundles":
...}``. A thought is kept only if the bundles it ends with equal the ground truth as sets of item
sets, and the thought itself is more than a few words and not a decoding loop; otherwise it is
rejected with a reason. The kept text is the session's numbered titles followed by the thought,
so a retriever can match it to similar sessions and the thought's product numbers stay readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bundlekd.data.answer import SessionListing, answer_json_schema, format_answer, parse_answer
from bundlekd.data.leakage import split_label
from bundlekd.data.schema import Session
from bundlekd.knowledge_base.distill.rules import Send, truth_text
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.prompts import render, template_version
from bundlekd.text import is_repetitive

THOUGHT_TEMPLATE = "teacher_thoughts"
MIN_THOUGHT_WORDS = 5
TITLE_CHARS = 80


@dataclass(frozen=True, slots=True)
class ThoughtVerdict:
    """The judgement on one teacher thought.

    Attributes:
        session: the session it explains.
        accepted: the answer ended with exactly the GT bundles and has a real thought.
        reason: "accepted", "llm_error", "unparsable", "empty_thought", "repetitive" or
            "bundles_differ".
        thought: the thought text ("" when none was given).
        raw: the teacher's raw answer.
    """

    session: Session
    accepted: bool
    reason: str
    thought: str = ""
    raw: str = ""

    def trace(self) -> dict[str, Any]:
        return {
            "session_id": self.session.session_id,
            "domain": self.session.domain,
            "accepted": self.accepted,
            "reason": self.reason,
            "raw": self.raw,
        }


def thoughts_prompt_version() -> str:
    return f"{THOUGHT_TEMPLATE}@{template_version(THOUGHT_TEMPLATE)}"


def thought_request(
    session: Session, *, max_new_tokens: int = 640, use_json_schema: bool = True
) -> ChatRequest:
    """The CoT request for one session (its GT bundles shown in product numbers)."""
    prompt = render(
        THOUGHT_TEMPLATE,
        listing=SessionListing.of(session.public()).text(),
        truth=truth_text(session),
    )
    schema = answer_json_schema(len(session.items), with_thought=True) if use_json_schema else None
    return ChatRequest(
        messages=(Message("user", prompt.text),),
        sampling=Sampling(max_new_tokens=max_new_tokens),
        json_schema=schema,
        custom_id=f"{session.domain}/{session.session_id}",
        prompt_version=f"{prompt.name}@{prompt.version}",
    )


def judge_thought(text: str, session: Session) -> ThoughtVerdict:
    """Accept a thought only when its final bundles equal the GT (as sets of item sets)."""
    parsed = parse_answer(text, session)
    if not parsed.valid:
        return ThoughtVerdict(session, False, "unparsable", raw=text)
    thought = " ".join(parsed.thought.split())
    if len(thought.split()) < MIN_THOUGHT_WORDS:
        return ThoughtVerdict(session, False, "empty_thought", thought, text)
    if is_repetitive(thought):  # a decoding loop explains nothing, whatever bundles follow
        return ThoughtVerdict(session, False, "repetitive", thought, text)
    predicted = {frozenset(b.items) for b in parsed.bundles}
    truth = {frozenset(b.items) for b in session.bundles or ()}
    if predicted != truth:
        return ThoughtVerdict(session, False, "bundles_differ", thought, text)
    return ThoughtVerdict(session, True, "accepted", thought, text)


def distill_thought_verdicts(
    sessions: Sequence[Session],
    send: Send,
    *,
    max_new_tokens: int = 640,
    use_json_schema: bool = True,
) -> list[ThoughtVerdict]:
    """One batch of CoT requests for all sessions; one verdict per session, in order."""
    requests = [
        thought_request(s, max_new_tokens=max_new_tokens, use_json_schema=use_json_schema)
        for s in sessions
    ]
    verdicts = []
    for session, completion in zip(sessions, send("thoughts", requests), strict=True):
        if completion.error:
            verdicts.append(ThoughtVerdict(session, False, "llm_error", raw=completion.error))
        else:
            verdicts.append(judge_thought(completion.text, session))
    return verdicts


def titles_summary(session: Session, max_chars: int = TITLE_CHARS) -> str:
    """Numbered titles on one line ("1. title; 2. title"), each cut to `max_chars`."""
    parts = []
    for index, item in enumerate(session.items, start=1):
        title = " ".join(item.title.split())
        if len(title) > max_chars:
            title = title[: max_chars - 1].rstrip() + "…"
        parts.append(f"{index}. {title}")
    return "; ".join(parts)


def thought_item(verdict: ThoughtVerdict, *, teacher: str, prompt_version: str) -> KnowledgeItem:
    """The knowledge candidate of an accepted thought."""
    if not verdict.accepted:
        raise ValueError(
            f"thought for {verdict.session.session_id!r} was rejected: {verdict.reason}"
        )
    session = verdict.session
    return KnowledgeItem.new(
        "thought",
        f"Session: {titles_summary(session)}\nThought: {verdict.thought}",
        session.domain,
        source_session_ids=[session.session_id],
        source_splits=[split_label(session)],
        teacher=teacher,
        prompt_version=prompt_version,
        stats={
            "session_id": session.session_id,
            "n_bundles": len(session.bundles or ()),
            # The thought alone and the GT answer, for (thought + bundles) SFT targets later.
            "thought": verdict.thought,
            "answer": format_answer(session.bundles or (), session),
        },
    )
