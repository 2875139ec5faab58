"""Formalized rules by self-reflection with ground truth (DESIGN.md §1, format 2).

Per training session:

1. ``generate``: the teacher answers like a student (the answer JSON of `data.answer`);
2. ``reflect``: in the same conversation it gets the taxonomy feedback (`feedback.py`) and
   revises its bundles;
3. ``rules``: a fresh prompt quotes both answers, their feedback and the correct bundles, and the
   teacher writes general rules, one "- " line each (a JSON list or ``{"rules": [...]}`` is
   parsed too).

Each stage is one batch for all sessions (`send(stage, requests)`), so batching backends work
at full width. This module renders and parses only (P5); `distill/runner.py` sends. Rules from many
sessions are merged when their normalised text is equal (provenance is the union); near-duplicate
merging is the knowledge base's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bundlekd.data.answer import (
    MAX_BUNDLES,
    SessionListing,
    answer_json_schema,
    format_answer,
    iter_json_values,
    parse_answer,
)
from bundlekd.data.leakage import split_label
from bundlekd.data.schema import Session
from bundlekd.knowledge_base.distill.feedback import count_kinds, feedback_for, render_feedback
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.llm.base import ChatRequest, Completion, Message, Sampling
from bundlekd.prompts import render, template_version
from bundlekd.text import is_repetitive

Send = Callable[[str, list[ChatRequest]], list[Completion]]

RULE_TEMPLATES = ("teacher_generate", "teacher_reflect", "teacher_rules")
MAX_RULES = 5
#: A rule sharing this much of its word trigrams with its own prompt is parroting the prompt.
COPY_THRESHOLD = 0.6
_BULLET = re.compile(r"^\s*(?:[-*•]+|\(?\d+[.)]|rule\s*\d*\s*[:.)-])\s*", re.IGNORECASE)
# A rule naming "product 3" or "item 2" is about one session, not a general rule.
_SESSION_SPECIFIC = re.compile(r"\b(?:products?|items?|p)\s*#?\s*\d+\b", re.IGNORECASE)
_PREAMBLE = re.compile(r"^(?:here (?:are|is)|sure\b|the following|i (?:will|would)\b)", re.I)


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Decoding budget per stage and the size limits of the answers."""

    answer_tokens: int = 256
    rules_tokens: int = 384
    max_rules: int = MAX_RULES
    max_bundles: int = MAX_BUNDLES
    use_json_schema: bool = True  # only honoured when the backend supports it


@dataclass(slots=True)
class RuleOutcome:
    """What one session's self-reflection produced (also the trace row)."""

    session: Session
    rules: list[str] = field(default_factory=list)
    trace: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def rules_prompt_version() -> str:
    """Provenance of a rule: the versions of all three templates that produced it."""
    return "+".join(f"{name}@{template_version(name)}" for name in RULE_TEMPLATES)


def truth_text(session: Session) -> str:
    """The ground truth in the answer format (product numbers, never item ids)."""
    return format_answer(session.bundles or (), session)


def distill_rule_outcomes(
    sessions: Sequence[Session], send: Send, settings: RuleSettings | None = None
) -> list[RuleOutcome]:
    """Run the three stages for sessions with ground truth; one `send` batch per stage."""
    settings = settings or RuleSettings()
    outcomes = [
        RuleOutcome(s, trace={"session_id": s.session_id, "domain": s.domain}) for s in sessions
    ]
    answer_sampling = Sampling(max_new_tokens=settings.answer_tokens)

    def schema(session: Session) -> dict[str, Any] | None:
        if not settings.use_json_schema:
            return None
        return answer_json_schema(len(session.items), max_bundles=settings.max_bundles)

    # Stage 1: answer like a student.
    first = [
        _request(
            [],
            render(
                "teacher_generate",
                listing=SessionListing.of(o.session.public()).text(),
                n_items=len(o.session.items),
                max_bundles=settings.max_bundles,
            ),
            answer_sampling,
            schema(o.session),
            o.session,
        )
        for o in outcomes
    ]
    live = _record(outcomes, first, send("rules:generate", first), "first")

    # Stage 2: revise given the taxonomy feedback.
    second = []
    for o, request in live:
        lines = feedback_for(parse_answer(o.trace["first"], o.session), o.session)
        o.trace["first_feedback"] = count_kinds(lines)
        prompt = render("teacher_reflect", feedback=render_feedback(lines))
        second.append(
            _request(
                _history(request, o.trace["first"]),
                prompt,
                answer_sampling,
                schema(o.session),
                o.session,
            )
        )
    live = _record([o for o, _ in live], second, send("rules:reflect", second), "revised")

    # Stage 3: summarise general rules, in a fresh single-turn prompt that quotes the whole
    # reflection: continuing the JSON conversation makes small teachers answer in JSON again.
    third = []
    for o, _ in live:
        revised = feedback_for(parse_answer(o.trace["revised"], o.session), o.session)
        o.trace["revised_feedback"] = count_kinds(revised)
        first_lines = feedback_for(parse_answer(o.trace["first"], o.session), o.session)
        prompt = render(
            "teacher_rules",
            listing=SessionListing.of(o.session.public()).text(),
            first=o.trace["first"].strip(),
            first_feedback=render_feedback(first_lines),
            revised=o.trace["revised"].strip(),
            revised_feedback=render_feedback(revised),
            truth=truth_text(o.session),
            max_rules=settings.max_rules,
        )
        # Rules are plain "- " lines, unconstrained: a schema adds nothing to free sentences,
        # and a JSON placeholder in the prompt is what small teachers copy.
        sampling = Sampling(max_new_tokens=settings.rules_tokens)
        third.append(_request([], prompt, sampling, None, o.session))
    for o, request in _record(
        [o for o, _ in live], third, send("rules:summarise", third), "rules_raw"
    ):
        parsed = parse_rules(o.trace["rules_raw"], max_rules=10 * settings.max_rules)
        # A "rule" that mostly repeats the prompt (its instructions, feedback) is no rule.
        asked = " ".join(m.content for m in request.messages if m.role == "user")
        kept = [r for r in parsed if copied_fraction(r, asked) < COPY_THRESHOLD]
        if len(kept) < len(parsed):
            o.trace["rules_copied_from_prompt"] = len(parsed) - len(kept)
        o.rules = kept[: settings.max_rules]
        o.trace["rules"] = o.rules
    return outcomes


def _request(
    history: list[Message],
    prompt: Any,
    sampling: Sampling,
    schema: dict[str, Any] | None,
    session: Session,
) -> ChatRequest:
    return ChatRequest(
        messages=(*history, Message("user", prompt.text)),
        sampling=sampling,
        json_schema=schema,
        custom_id=f"{session.domain}/{session.session_id}",
        prompt_version=f"{prompt.name}@{prompt.version}",
    )


def _history(request: ChatRequest, answer: str) -> list[Message]:
    return [*request.messages, Message("assistant", answer)]


def _record(
    outcomes: list[RuleOutcome],
    requests: list[ChatRequest],
    completions: list[Completion],
    key: str,
) -> list[tuple[RuleOutcome, ChatRequest]]:
    """Store each completion's text under `key`; return the sessions that can go on."""
    live = []
    for outcome, request, completion in zip(outcomes, requests, completions, strict=True):
        if completion.error:
            outcome.error = f"{key}: {completion.error}"
            outcome.trace["error"] = outcome.error
            continue
        outcome.trace[key] = completion.text
        live.append((outcome, request))
    return live


def parse_rules(text: str, max_rules: int = MAX_RULES) -> list[str]:
    """Individual general rules from a teacher answer (JSON list/object, or one per line).

    Headers, JSON debris, fragments under 4 words, decoding loops and session-specific sentences
    (naming a product number) are dropped; duplicates (normalised) are kept once.
    """
    candidates = _json_rules(text)
    if not candidates:
        candidates = text.splitlines()
    rules: list[str] = []
    seen: set[str] = set()
    for raw in candidates:
        rule = clean_rule(raw)
        if rule is None or rule_key(rule) in seen:
            continue
        seen.add(rule_key(rule))
        rules.append(rule)
        if len(rules) == max_rules:
            break
    return rules


def _json_rules(text: str) -> list[str]:
    for obj in iter_json_values(text):
        if isinstance(obj, dict):
            obj = obj.get("rules", [])
        if isinstance(obj, list):
            return [x for x in obj if isinstance(x, str)]
    return []


def clean_rule(raw: str) -> str | None:
    """One rule sentence, tidied; None when the line is not a usable general rule."""
    rule = " ".join(_BULLET.sub("", raw).split()).strip(" \"'`,")
    if not rule or "{" in rule or "}" in rule or rule.endswith(":"):
        return None
    if _PREAMBLE.match(rule) or _SESSION_SPECIFIC.search(rule) or is_repetitive(rule):
        return None
    if not 4 <= len(rule.split()) <= 60:
        return None
    rule = rule[0].upper() + rule[1:]
    return rule if rule[-1] in ".!?" else rule + "."


def copied_fraction(text: str, source: str, n: int = 3) -> float:
    """Share of the text's word n-grams (normalised) that also occur in `source`."""
    words, source_words = rule_key(text).split(), rule_key(source).split()
    grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    if not grams:
        return 1.0 if f" {' '.join(words)} " in f" {' '.join(source_words)} " else 0.0
    seen = {tuple(source_words[i : i + n]) for i in range(len(source_words) - n + 1)}
    return len(grams & seen) / len(grams)


def rule_key(rule: str) -> str:
    """Merging key: lower case, letters and digits only, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", rule.lower()).split())


def merge_rules(
    outcomes: Sequence[RuleOutcome], *, teacher: str, prompt_version: str
) -> list[KnowledgeItem]:
    """One candidate per (domain, normalised rule), provenance unioned over sessions."""
    groups: dict[tuple[str, str], tuple[str, list[Session]]] = {}
    for outcome in outcomes:
        for rule in outcome.rules:
            key = (outcome.session.domain, rule_key(rule))
            _, sources = groups.setdefault(key, (rule, []))
            sources.append(outcome.session)
    return [
        KnowledgeItem.new(
            "rule",
            text,
            domain,
            source_session_ids=[s.session_id for s in sources],
            source_splits=[split_label(s) for s in sources],
            teacher=teacher,
            prompt_version=prompt_version,
            stats={"merged_count": len(sources)},
        )
        for (domain, _), (text, sources) in groups.items()
    ]
