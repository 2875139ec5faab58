"""ChatSession: the conversation behind `bundlekd chat`.

The first turn generates bundles. Edit commands (merge, remove, split, rename, show, help) are
applied locally and deterministically: a 135M model cannot be trusted to rewrite JSON on
request. "why" questions are answered from the grouping tool's evidence (`agent.why`): pair
scores, the val-chosen decoding settings and the matching training bundles; with
`phrase_with_llm` the LLM adds a short wording of that evidence after it, never instead of it
(off by default: the 135M default model repeats itself). Anything else goes to the LLM with the
session listing, the current bundles and the recent questions and answers. The library
returns `ChatTurn` values; only the CLI prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bundlekd.agent.prompting import KnowledgeSnippet, listing_text
from bundlekd.agent.student import StudentAgent
from bundlekd.agent.tool_agent import ToolAgent
from bundlekd.agent.why import WhyError, answer_why, is_why, parse_why
from bundlekd.data.schema import Bundle, Item, Prediction, Session
from bundlekd.errors import BundleKDError, LLMError
from bundlekd.files import canonical_hash
from bundlekd.knowledge_base.grouping.explain import Evidence, Explanation, gather_evidence
from bundlekd.knowledge_base.grouping.tool import GroupingTool
from bundlekd.llm.base import ChatRequest, Message, Sampling
from bundlekd.prompts import render, template_version
from bundlekd.text import trim_repetition

TurnKind = Literal["bundles", "edit", "answer", "explain", "show", "help", "save", "error"]
#: Computes the tool's evidence for a session (the default: `gather_evidence` on the tool).
EvidenceSource = Callable[[Session], Evidence]
#: Saves a labelled session as knowledge; returns what to tell the user and, when the
#: knowledge changed, an agent built from the KB as it is now (None: keep the current one).
LabelSaver = Callable[[Session], tuple[str, "StudentAgent | ToolAgent | None"]]

HELP_TEXT = """Commands (bundle numbers as shown; product numbers as in the product list):
  show                      list the current bundles
  merge 1 2                 merge bundles 1 and 2 (also: "merge bundle 1 and 2")
  remove 2                  delete bundle 2
  split 1                   split bundle 1 into two halves
  split 1 3 4               move products 3 and 4 out of bundle 1 into a new bundle
  rename 1 <intent>         give bundle 1 a new intent
  save                      keep the bundles as they stand as knowledge (the KB's exemplars
                            of this session; the next answer uses them; kb rollback undoes)
  why                       the grouping tool's evidence for every bundle
  why bundle 2              ... for bundle 2
  why is 3 in bundle 1?     ... for product 3 and bundle 1 ("why 3": where it is)
  why 2 and 5               ... for the pair of products 2 and 5
  help                      this text
  quit                      leave
Anything else is a question for the model."""

_NUMBERS = re.compile(r"\d+")
_RENAME = re.compile(r"^rename\s+(?:bundle\s+)?(\d+)\s*(?:to\s+|as\s+|:\s*)?(.*)$", re.I | re.S)


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One reply: what happened, a message, and the bundles as they stand after the turn."""

    kind: TurnKind
    message: str
    bundles: tuple[Bundle, ...]
    knowledge: tuple[KnowledgeSnippet, ...] = ()
    prediction: Prediction | None = None
    explanation: Explanation | None = None


def session_from_titles(titles: list[str], domain: str = "custom") -> Session:
    """A session built from typed-in product titles (ids p1..pN, id from a content hash)."""
    cleaned = [" ".join(t.split()) for t in titles if t.strip()]
    if not cleaned:
        raise ValueError("a session needs at least one product title")
    items = tuple(Item(item_id=f"p{i}", title=t) for i, t in enumerate(cleaned, start=1))
    return Session(session_id=f"chat-{canonical_hash(cleaned, 8)}", domain=domain, items=items)


def bundle_line(session: Session, number: int, bundle: Bundle) -> str:
    """`1. Camera gear: products 1, 3, 5` (numbers are session positions)."""
    positions = ", ".join(str(session.position(i)) for i in bundle.items)
    return f"{number}. {bundle.intent or '(no intent)'}: products {positions}"


class ChatSession:
    """A conversation about one session's bundles.

    Args:
        agent: The student agent (its backend answers free-form questions too).
        session: The session to talk about (shown to the model as titles only).
        history_turns: Question/answer pairs kept in the model's context (2048-token models).
        max_reply_tokens: Token limit for free-form answers.
        evidence: Computes the grouping tool's evidence for the session (default: the
            agent's tool when it is a `GroupingTool`; None: "why" goes to the LLM).
        phrase_with_llm: After the evidence of a "why", the LLM words it briefly (for a
            capable model; off by default).
    """

    def __init__(
        self,
        agent: StudentAgent | ToolAgent,
        session: Session,
        *,
        history_turns: int = 3,
        max_reply_tokens: int = 160,
        evidence: EvidenceSource | None = None,
        phrase_with_llm: bool = False,
        save: LabelSaver | None = None,
    ) -> None:
        self.agent = agent
        self.session = session.public()
        self.bundles: list[Bundle] = []
        self.knowledge: tuple[KnowledgeSnippet, ...] = ()
        self.history: list[tuple[str, str]] = []
        self.history_turns = history_turns
        self.max_reply_tokens = max_reply_tokens
        self.started = False
        self.evidence_source = evidence if evidence is not None else _tool_evidence(agent)
        self.phrase_with_llm = phrase_with_llm
        self.saver = save
        self._evidence: Evidence | None = None
        self._knowledge_ids: tuple[str, ...] = ()

    # -- turns -------------------------------------------------------------------------------

    def start(self) -> ChatTurn:
        """Generate the first bundles (raises LLMError only when the backend is down)."""
        if isinstance(self.agent, StudentAgent):
            prepared = self.agent.prepare([self.session])[0]
            completion = self.agent.llm.generate([prepared.request])[0]
            prediction = self.agent.to_prediction(prepared, completion)
            self.knowledge = prepared.parts.knowledge
        else:  # tool and agent modes: the grouping tool proposes, the LLM (if any) names
            prediction = self.agent.generate([self.session])[0]
            self.knowledge = ()
        self.bundles = list(prediction.bundles)
        self._knowledge_ids = tuple(prediction.knowledge_ids)
        self.started = True
        if prediction.parsed:
            message = f"{len(self.bundles)} bundle(s) proposed."
        else:
            message = "The model's answer could not be read: " + "; ".join(prediction.errors)
        return ChatTurn(
            "bundles", message, tuple(self.bundles), self.knowledge, prediction=prediction
        )

    def send(self, text: str) -> ChatTurn:
        """Handle one user line: an edit command locally, anything else through the LLM."""
        text = text.strip()
        command = text.lower()
        first = command.split(maxsplit=1)[0] if command else ""
        if first in ("help", "?"):
            return self._turn("help", HELP_TEXT)
        if first in ("show", "list"):
            return self._turn("show", f"{len(self.bundles)} bundle(s).")
        if first == "merge":
            return self._merge(command)
        if first in ("remove", "delete", "drop"):
            return self._remove(command)
        if first == "split":
            return self._split(command)
        if first == "rename":
            return self._rename(text)
        if command == "save":
            return self._save()
        if is_why(text) and self.evidence_source is not None:
            return self._why(text)
        return self._ask(text)

    def lines(self) -> list[str]:
        """The current bundles as text lines."""
        return [bundle_line(self.session, n, b) for n, b in enumerate(self.bundles, start=1)]

    # -- edits -------------------------------------------------------------------------------

    def _turn(
        self, kind: TurnKind, message: str, explanation: Explanation | None = None
    ) -> ChatTurn:
        return ChatTurn(kind, message, tuple(self.bundles), self.knowledge, explanation=explanation)

    def _bundle_numbers(self, command: str) -> list[int] | str:
        numbers = [int(n) for n in _NUMBERS.findall(command)]
        bad = [n for n in numbers if not 1 <= n <= len(self.bundles)]
        if bad:
            return f"no bundle {bad[0]}: there are {len(self.bundles)}"
        return numbers

    def _merge(self, command: str) -> ChatTurn:
        numbers = self._bundle_numbers(command)
        if isinstance(numbers, str):
            return self._turn("error", numbers)
        chosen = sorted(set(numbers))
        if len(chosen) < 2:
            return self._turn("error", "merge needs two bundle numbers, e.g. 'merge 1 2'")
        items = {i for n in chosen for i in self.bundles[n - 1].items}
        merged = Bundle(items=self._ordered(items), intent=self.bundles[chosen[0] - 1].intent)
        self.bundles[chosen[0] - 1] = merged
        for n in reversed(chosen[1:]):
            del self.bundles[n - 1]
        return self._turn("edit", f"Merged bundles {', '.join(map(str, chosen))}.")

    def _remove(self, command: str) -> ChatTurn:
        numbers = self._bundle_numbers(command)
        if isinstance(numbers, str):
            return self._turn("error", numbers)
        if not numbers:
            return self._turn("error", "remove needs a bundle number, e.g. 'remove 2'")
        for n in sorted(set(numbers), reverse=True):
            del self.bundles[n - 1]
        return self._turn("edit", f"Removed bundle(s) {', '.join(map(str, sorted(set(numbers))))}.")

    def _split(self, command: str) -> ChatTurn:
        numbers = [int(n) for n in _NUMBERS.findall(command)]
        if not numbers or not 1 <= numbers[0] <= len(self.bundles):
            usage = "split needs a bundle number, e.g. 'split 1' or 'split 1 3 4'"
            return self._turn("error", usage)
        index = numbers[0] - 1
        bundle = self.bundles[index]
        ordered = list(self._ordered(set(bundle.items)))
        if len(numbers) == 1:
            half = (len(ordered) + 1) // 2
            keep, move = ordered[:half], ordered[half:]
        else:
            positions = set(numbers[1:])
            n_items = len(self.session.items)
            move = [self.session.items[p - 1].item_id for p in sorted(positions) if p <= n_items]
            if len(move) != len(positions) or not set(move) <= set(bundle.items):
                wrong = f"products {sorted(positions)} are not all in bundle {index + 1}"
                return self._turn("error", wrong)
            keep = [i for i in ordered if i not in move]
        if len(keep) < 2 or len(move) < 2:
            return self._turn("error", "both parts of a split need at least 2 products")
        self.bundles[index] = Bundle(items=tuple(keep), intent=bundle.intent)
        self.bundles.insert(index + 1, Bundle(items=tuple(move), intent=bundle.intent))
        done = f"Split bundle {index + 1} into bundles {index + 1} and {index + 2}."
        return self._turn("edit", done)

    def _rename(self, text: str) -> ChatTurn:
        match = _RENAME.match(text)
        if not match or not match.group(2).strip():
            usage = "rename needs a bundle number and an intent: 'rename 1 Camera gear'"
            return self._turn("error", usage)
        number = int(match.group(1))
        if not 1 <= number <= len(self.bundles):
            return self._turn("error", f"no bundle {number}: there are {len(self.bundles)}")
        intent = " ".join(match.group(2).split()).strip("\"'")
        old = self.bundles[number - 1]
        self.bundles[number - 1] = Bundle(items=old.items, intent=intent)
        return self._turn("edit", f"Bundle {number} is now '{intent}'.")

    def _save(self) -> ChatTurn:
        """Keep the bundles as they stand as this session's knowledge (through the saver)."""
        if self.saver is None:
            return self._turn("error", "saving needs a knowledge base: start chat with --kb DIR")
        if not self.bundles:
            return self._turn("error", "no bundles to save (a label needs at least one)")
        labelled = self.session.model_copy(update={"bundles": tuple(self.bundles)})
        try:
            message, agent = self.saver(labelled)
        except BundleKDError as exc:
            return self._turn("error", f"not saved: {exc}")
        if agent is not None:  # the next answer (and "why") come from the KB as it is now
            self.agent = agent
            self.evidence_source = _tool_evidence(agent)
            self._evidence = None
        return self._turn("save", message)

    def _ordered(self, item_ids: set[str]) -> tuple[str, ...]:
        return tuple(i.item_id for i in self.session.items if i.item_id in item_ids)

    # -- free-form questions -----------------------------------------------------------------

    def context_messages(self, question: str) -> tuple[Message, ...]:
        """What the model sees for a question: listing + current bundles + recent Q/A."""
        system = render(
            "student_chat",
            listing=listing_text(self.session, self.agent.config.max_title_chars),
            bundle_lines=self.lines(),
            snippets=self.knowledge,
        ).text
        messages = [Message("system", system)]
        for asked, answered in self.history[-self.history_turns :] if self.history_turns else []:
            messages += [Message("user", asked), Message("assistant", answered)]
        messages.append(Message("user", question))
        return tuple(messages)

    def _ask(self, question: str) -> ChatTurn:
        if not question:
            return self._turn("help", HELP_TEXT)
        config = self.agent.config
        if self.agent.llm is None:
            return self._turn("error", "mode tool has no language model to ask: use --mode agent")
        request = ChatRequest(
            messages=self.context_messages(question),
            sampling=Sampling(
                max_new_tokens=self.max_reply_tokens,
                temperature=config.temperature,
                seed=config.seed,
            ),
            adapter=config.adapter,
            custom_id=f"chat/{self.session.session_id}",
            prompt_version=template_version("student_chat"),
        )
        completion = self.agent.llm.generate([request])[0]
        if completion.error is not None:
            return self._turn("error", f"the model failed to answer: {completion.error}")
        answer = trim_repetition(completion.text.strip()) or "(no answer)"
        self.history.append((question, answer))
        return self._turn("answer", answer)

    # -- "why": the grouping tool's evidence ---------------------------------------------------

    def evidence(self) -> Evidence:
        """The tool's evidence for the session (computed once: the session never changes)."""
        if self._evidence is None:
            assert self.evidence_source is not None
            self._evidence = self.evidence_source(self.session)
        return self._evidence

    def _why(self, question: str) -> ChatTurn:
        try:
            text, explanation = answer_why(
                self.evidence(),
                self.session,
                self.bundles,
                parse_why(question),
                self._knowledge_ids,
            )
        except (WhyError, BundleKDError) as exc:  # an unknown number, or a tool that fails
            return self._turn("error", str(exc))
        if self.phrase_with_llm and self.agent.llm is not None:
            text += "\n\n" + self._phrase(question, text)
        return self._turn("explain", text, explanation)

    def _phrase(self, question: str, evidence: str) -> str:
        """The LLM's short wording of the evidence (shown after it; a failure says so)."""
        config = self.agent.config
        prompt = render("explain_chat", evidence=evidence)
        request = ChatRequest(
            messages=(Message("system", prompt.text), Message("user", question)),
            sampling=Sampling(
                max_new_tokens=self.max_reply_tokens,
                temperature=config.temperature,
                seed=config.seed,
            ),
            adapter=config.adapter,
            custom_id=f"chat-why/{self.session.session_id}",
            prompt_version=prompt.version,
        )
        assert self.agent.llm is not None
        try:
            completion = self.agent.llm.generate([request])[0]
        except LLMError as exc:  # a backend that is down costs the wording, not the evidence
            return f"(the model could not word it: {exc})"
        if completion.error is not None:
            return f"(the model could not word it: {completion.error})"
        answer = trim_repetition((completion.text or "").strip())
        return f"In short ({self.agent.llm.model_id}): {answer}" if answer else "(no wording)"


def _tool_evidence(agent: StudentAgent | ToolAgent) -> EvidenceSource | None:
    """The agent's grouping tool as an evidence source, when it has one."""
    tool = getattr(agent, "proposer", None)
    if not isinstance(tool, GroupingTool):
        return None
    return lambda session: gather_evidence(tool, [session])[0]
