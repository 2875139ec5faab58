"""Request limits that depend on the configuration, checked after the body parsed: per
request (sessions per request) and per session (items, title length, domain).

Each failure is a `LimitError` whose `loc` names the field the way FastAPI's own validation
errors do (`["body", "sessions", 3, "items"]`), so a client sees one error format.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bundlekd.app.service.schemas import (
    BundlesRequest,
    FeedbackRequest,
    KnowledgeRequest,
    SessionIn,
)
from bundlekd.app.service.settings import ServiceSettings


@dataclass
class LimitError(Exception):
    """A request over a configured limit (422 unless `status` says otherwise)."""

    loc: tuple[str | int, ...]
    msg: str
    status: int = 422

    def detail(self) -> list[dict[str, object]]:
        return [{"loc": list(self.loc), "msg": self.msg, "type": "limit"}]

    def __str__(self) -> str:
        return f"{'.'.join(str(p) for p in self.loc)}: {self.msg}"


def check_bundles_request(request: BundlesRequest, settings: ServiceSettings) -> None:
    """The per-request limit: sessions per request (the per-session ones are `session_problem`).

    Raises:
        LimitError: too many sessions.
    """
    if request.sessions is not None and len(request.sessions) > settings.max_sessions:
        raise LimitError(
            ("body", "sessions"),
            f"{len(request.sessions)} sessions; at most {settings.max_sessions} per request "
            "(max_sessions)",
        )


def session_problem(
    session: SessionIn,
    where: tuple[str | int, ...],
    settings: ServiceSettings,
    domains: Collection[str] | None = None,
) -> LimitError | None:
    """The first per-session limit `session` breaks, or None: items per session, title length,
    and a domain the serving mode cannot answer for (`domains`; None = any).

    Per session, not per request: one session over a limit must not fail the others sent with
    it (the route answers it with its own error).
    """
    if len(session.items) > settings.max_items:
        return LimitError(
            (*where, "items"),
            f"{len(session.items)} items; at most {settings.max_items} per session (max_items)",
        )
    for n, item in enumerate(session.items):
        if len(item.title) > settings.max_title_chars:
            return LimitError(
                (*where, "items", n, "title"),
                f"{len(item.title)} characters; at most {settings.max_title_chars} "
                "(max_title_chars)",
            )
    if domains is not None and session.domain not in domains:
        return LimitError(
            (*where, "domain"),
            f"domain {session.domain!r} is not served by this knowledge base; it serves "
            f"{', '.join(sorted(domains))}",
        )
    return None


def check_knowledge_request(request: KnowledgeRequest, settings: ServiceSettings) -> None:
    """Items per write and text length.

    Raises:
        LimitError: the first limit exceeded.
    """
    if len(request.items) > settings.max_knowledge_items:
        raise LimitError(
            ("body", "items"),
            f"{len(request.items)} items; at most {settings.max_knowledge_items} per request "
            "(max_knowledge_items)",
        )
    for index, item in enumerate(request.items):
        if len(item.text) > settings.max_knowledge_chars:
            raise LimitError(
                ("body", "items", index, "text"),
                f"{len(item.text)} characters; at most {settings.max_knowledge_chars} "
                "(max_knowledge_chars)",
            )


def check_feedback_request(
    request: FeedbackRequest, settings: ServiceSettings, domains: Collection[str] | None
) -> None:
    """The session's limits, as for /v1/bundles: a label of a domain the tool does not serve
    would never be used.

    Raises:
        LimitError: the first limit exceeded, naming the field.
    """
    problem = session_problem(request.session, ("body", "session"), settings, domains)
    if problem is not None:
        raise problem
