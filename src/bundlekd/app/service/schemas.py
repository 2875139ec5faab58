"""The service's request and response bodies (they are its OpenAPI schema).

Shapes only: the configurable limits (sessions per request, items per session, title length)
are checked by `limits.py`, which answers 422 naming the field, so one schema serves every
configuration.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from bundlekd.agent.config import AgentMode
from bundlekd.app.service.explanations import ExplanationOut
from bundlekd.data.schema import Bundle, Item, Prediction, Session

KnowledgeKind = Literal["pattern", "rule", "thought", "exemplar"]
# Not blank: holds a character that Python's `str.strip()` keeps (what KnowledgeItem demands).
# Spelled out rather than `\S`: JSON Schema's `\s` (ECMA) and Python's whitespace differ
# (\x1c-\x1f, \x85, \ufeff), and the published schema must accept exactly what we do.
_WHITESPACE = (
    "\\t\\n\\v\\f\\r \\u001c-\\u001f\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029"
    "\\u202f\\u205f\\u3000\\ufeff"
)
_NOT_BLANK = f"[^{_WHITESPACE}]"
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NOT_BLANK)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(_Body):
    item_id: str = Field(
        min_length=1, max_length=200, description="Item id, unique within the session."
    )
    title: str = Field(min_length=1, description="Product title (the only item text used).")


class SessionIn(_Body):
    session_id: str = Field(
        min_length=1, max_length=200, description="Your id for the session; echoed back."
    )
    # Required: the domain picks the tool's item memory, pair model and val-tuned thresholds. A
    # guessed default would answer from another domain's settings, silently worse, and a caller
    # could not tell; a missing domain is a 422 naming this field instead.
    domain: str = Field(
        min_length=1,
        max_length=100,
        pattern=_NOT_BLANK,
        description="Domain (electronic, clothing, food, ...): picks the tool's memory and tuned "
        "settings. Required; one the knowledge base does not serve is refused (see /ready).",
    )
    items: list[ItemIn] = Field(
        min_length=1, description="Items in session order (product 1..N); item ids unique."
    )

    @model_validator(mode="after")
    def _unique_items(self) -> SessionIn:
        ids = [item.item_id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"session {self.session_id!r}: item ids must be unique")
        return self

    def to_session(self) -> Session:
        items = tuple(Item(item_id=i.item_id, title=i.title) for i in self.items)
        return Session(session_id=self.session_id, domain=self.domain, items=items)


def _one_of_schema(schema: dict[str, Any]) -> None:
    """Publish the rule the validator enforces: exactly one of the two keys, not null."""
    properties = schema["properties"]
    for name in ("session", "sessions"):
        prop = properties[name]
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if branches:
            prop.update(branches[0])
        prop.pop("default", None)
    properties["sessions"]["minItems"] = 1
    schema["oneOf"] = [{"required": ["session"]}, {"required": ["sessions"]}]


class BundlesRequest(_Body):
    """One session (`session`) or several (`sessions`), and optionally a mode."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_of_schema)

    session: SessionIn | None = Field(default=None, description="A single session.")
    sessions: list[SessionIn] | None = Field(default=None, description="Several sessions.")
    mode: AgentMode | None = Field(
        default=None, description="Generation mode; must be one the service allows (/ready)."
    )

    @model_validator(mode="after")
    def _one_of(self) -> BundlesRequest:
        given = [name for name in ("session", "sessions") if name in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("give exactly one of `session` or `sessions`")
        if getattr(self, given[0]) is None:
            raise ValueError(f"`{given[0]}` is null")
        if self.sessions is not None and not self.sessions:
            raise ValueError("`sessions` is empty")
        return self

    def all_sessions(self) -> list[SessionIn]:
        return [self.session] if self.session is not None else list(self.sessions or [])


class BundleOut(BaseModel):
    items: list[str] = Field(description="Item ids of the bundle.")
    positions: list[int] = Field(description="1-based positions of those items in the session.")
    intent: str = Field(description="Short intent of the bundle.")


class SessionError(BaseModel):
    loc: list[str | int] = Field(description="The field, as in a 422 (body, sessions, 3, ...).")
    msg: str = Field(description="What was wrong.")
    type: str = Field(description="limit: a per-session limit.")


class PredictionOut(BaseModel):
    session_id: str
    domain: str
    error: SessionError | None = Field(
        default=None,
        description="Why this session was not answered (a per-session limit: items, title "
        "length, domain); its bundles are then empty. Null when answered.",
    )
    bundles: list[BundleOut] = Field(description="The generated bundles, with intents.")
    proposals: list[BundleOut] = Field(description="The grouping tool's proposals (tool/agent).")
    knowledge_ids: list[str] = Field(description="Knowledge items the answer used.")
    parsed: bool = Field(description="The model's output could be read (always true in tool).")
    errors: list[str] = Field(description="What went wrong with the model's output, if anything.")
    method: str = Field(description="Method label, e.g. tool or agent-name-top3.")
    explanation: ExplanationOut | None = Field(
        default=None,
        description="Only with `?explain=true`: why the bundles are what they are, from the "
        "grouping tool's evidence (pair scores, val-chosen decoding settings, matching "
        "training bundles). Null for a refused session or a mode without the tool.",
    )

    @classmethod
    def refused(cls, session: SessionIn, error: SessionError) -> PredictionOut:
        """The answer for a session refused by a per-session limit: its error, no bundles."""
        return cls(
            session_id=session.session_id,
            domain=session.domain,
            error=error,
            bundles=[],
            proposals=[],
            knowledge_ids=[],
            parsed=False,
            errors=[error.msg],
            method="refused",
        )

    @classmethod
    def of(
        cls,
        prediction: Prediction,
        session: Session,
        explanation: ExplanationOut | None = None,
    ) -> PredictionOut:
        position = {item.item_id: n for n, item in enumerate(session.items, start=1)}

        def bundles(values: tuple[Bundle, ...]) -> list[BundleOut]:
            return [
                BundleOut(
                    items=list(b.items),
                    positions=[position.get(i, 0) for i in b.items],
                    intent=b.intent,
                )
                for b in values
            ]

        return cls(
            session_id=prediction.session_id,
            domain=prediction.domain,
            bundles=bundles(prediction.bundles),
            proposals=bundles(prediction.proposals),
            knowledge_ids=list(prediction.knowledge_ids),
            parsed=prediction.parsed,
            errors=list(prediction.errors),
            method=prediction.method,
            explanation=explanation,
        )


class BundlesResponse(BaseModel):
    mode: str = Field(description="The mode that generated these predictions.")
    predictions: list[PredictionOut] = Field(description="One per session, in request order.")
    elapsed_ms: float = Field(description="Time spent on this request in the service.")


class KnowledgeIn(_Body):
    kind: KnowledgeKind = Field(description="pattern, rule, thought or exemplar.")
    text: str = Field(
        min_length=1, pattern=_NOT_BLANK, description="The knowledge, as it goes into a prompt."
    )
    domain: str = Field(
        min_length=1, max_length=100, pattern=_NOT_BLANK, description="Domain it applies to."
    )
    source_session_ids: list[SessionId] = Field(
        default_factory=list, max_length=1000, description="Sessions it was distilled from."
    )
    source_splits: list[Literal["train", "val"]] = Field(
        min_length=1,
        max_length=2,
        description="Splits of those sessions: knowledge from the test split, or from no known "
        "split, never feeds the KB (the leakage guard).",
    )
    teacher: str = Field(default="", max_length=200, description="The teacher model id.")


class KnowledgeRequest(_Body):
    items: list[KnowledgeIn] = Field(min_length=1, description="Items to add.")


class KnowledgeResponse(BaseModel):
    added: int = Field(description="New items written.")
    merged: int = Field(description="Near-duplicates merged into an existing item.")
    unchanged: int = Field(description="Items the KB already held.")
    ids: list[str] = Field(description="Per input item, the id that now holds it.")
    last_seq: int = Field(description="The KB's operation number after this write.")
    live: bool = Field(
        description="The answers use the KB as it is after this write. Exemplars need the "
        "titles the grouping tool indexes: post labelled sessions to /v1/feedback."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What was written but will not do what it may look like (an exemplar "
        "here is searchable, but the grouping tool cannot use it).",
    )


class BundleIn(_Body):
    items: list[str] = Field(
        min_length=2, description="Item ids of the bundle (>= 2, unique, all in the session)."
    )
    intent: str = Field(default="", max_length=200, description="Short free-text intent.")


class FeedbackRequest(_Body):
    """A session and the bundles it should have: a correction, or an accepted answer."""

    session: SessionIn = Field(description="The session, as sent to /v1/bundles.")
    bundles: list[BundleIn] = Field(
        min_length=1, description="Its bundles as they should be (at least one)."
    )
    author: str = Field(
        default="api",
        min_length=1,
        max_length=200,
        pattern=_NOT_BLANK,
        description="Who labelled it (recorded with the knowledge).",
    )

    @model_validator(mode="after")
    def _bundles_in_session(self) -> FeedbackRequest:
        known = {item.item_id for item in self.session.items}
        for n, bundle in enumerate(self.bundles):
            unknown = [i for i in bundle.items if i not in known]
            if unknown:
                raise ValueError(f"bundles[{n}]: items not in the session: {unknown}")
            if len(set(bundle.items)) != len(bundle.items):
                raise ValueError(f"bundles[{n}]: an item appears twice")
        return self

    def to_session(self) -> Session:
        bundles = tuple(Bundle(items=tuple(b.items), intent=b.intent) for b in self.bundles)
        return self.session.to_session().model_copy(update={"bundles": bundles})


class FeedbackResponse(BaseModel):
    session_id: str
    domain: str
    added: int = Field(description="New exemplars written.")
    restored: int = Field(description="Exemplars of an earlier label of this session, back.")
    unchanged: int = Field(description="Exemplars the KB already held for this session.")
    superseded: int = Field(description="The session's earlier exemplars, replaced.")
    ids: list[str] = Field(description="The session's exemplars now.")
    last_seq: int = Field(description="The KB's operation number after this write.")
    live: bool = Field(
        description="The answers use it now (the service reloaded its knowledge before "
        "answering this request)."
    )


class SearchHit(BaseModel):
    id: str
    kind: str
    domain: str
    text: str
    score: float


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]


class HealthResponse(BaseModel):
    status: Literal["ok", "failed"] = Field(
        default="ok",
        description="ok: the process is up (loading or ready); failed: the load "
        "failed, the service cannot answer and is stopping (503).",
    )
    detail: str = Field(default="", description="Why it failed.")


class ReadyResponse(BaseModel):
    ready: bool = Field(description="Model and KB are loaded; requests are served.")
    mode: str | None = Field(default=None, description="Default mode.")
    modes: list[str] = Field(default_factory=list, description="Modes a request may ask for.")
    domains: list[str] | None = Field(
        default=None, description="Domains the default mode serves (null: any)."
    )
    kb: str | None = Field(
        default=None,
        description="The KB folder's name; its full path only to a request with the API key.",
    )
    kb_seq: int | None = Field(
        default=None,
        description="The KB operation (`kb history` number) the answers come from; it moves "
        "when a commit goes live.",
    )
    detail: str = Field(default="", description="Why it is not ready (loading, failed).")


class ErrorResponse(BaseModel):
    detail: str | list[dict[str, object]] = Field(description="What was wrong, naming the field.")
