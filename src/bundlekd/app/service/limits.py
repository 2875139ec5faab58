"""Request limits that depend on the configuration, checked after the body parsed.

Each failure is a `LimitError` whose `loc` names the field the way FastAPI's own validation
errors do (`["body", "sessions", 3, "items"]`), so a client sees one error format.
"""

from __future__ import annotations

from dataclasses import dataclass

from bundlekd.app.service.schemas import BundlesRequest, KnowledgeRequest
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
    """Sessions per request, items per session, title length.

    Raises:
        LimitError: the first limit exceeded.
    """
    if request.sessions is not None and len(request.sessions) > settings.max_sessions:
        raise LimitError(
            ("body", "sessions"),
            f"{len(request.sessions)} sessions; at most {settings.max_sessions} per request "
            "(max_sessions)",
        )
    for index, session in enumerate(request.all_sessions()):
        where: tuple[str | int, ...] = (
            ("body", "session") if request.session is not None else ("body", "sessions", index)
        )
        if len(session.items) > settings.max_items:
            raise LimitError(
                (*where, "items"),
                f"{len(session.items)} items; at most {settings.max_items} per session (max_items)",
            )
        for n, item in enumerate(session.items):
            if len(item.title) > settings.max_title_chars:
                raise LimitError(
                    (*where, "items", n, "title"),
                    f"{len(item.title)} characters; at most {settings.max_title_chars} "
                    "(max_title_chars)",
                )


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
