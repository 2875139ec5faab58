"""Sessions JSONL (DESIGN.md §5): one session per line.

``{"session_id", "domain", "items": [{"item_id", "title", "categories"?}],
"bundles": [{"items": [item_id, ...], "intent"}]?, "split"?}``. Optional keys are omitted when
unset. Errors name ``file:line`` and the offending field.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bundlekd.data.schema import Session
from bundlekd.errors import DataError
from bundlekd.files import iter_jsonl, write_jsonl


def describe_validation_error(exc: ValidationError) -> str:
    """A one-line summary of a pydantic error: ``field items[0].title: Field required; ...``."""
    parts = []
    for error in exc.errors():
        field = _format_loc(error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"field {field}: {message}" if field else message)
    return "; ".join(parts)


def _format_loc(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_record(model: type[BaseModel], obj: dict[str, Any], where: str) -> Any:
    """Validate `obj` as `model`, turning ValidationError into DataError naming `where`."""
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise DataError(f"{where}: {describe_validation_error(exc)}") from exc


def session_to_json(session: Session) -> dict[str, Any]:
    """The JSONL form of a session (optional keys left out when unset)."""
    return session.model_dump(mode="json", exclude_none=True)


def iter_sessions(path: str | Path) -> Iterator[tuple[int, Session]]:
    """Yield (line number, session) for each line of a sessions JSONL file.

    Raises:
        DataError: Invalid JSON, a missing/unknown/invalid field, an empty session, or a bundle
            that names an item not in its session; the message names ``file:line``.
    """
    for line_no, obj in iter_jsonl(path):
        yield line_no, parse_record(Session, obj, f"{path}:{line_no}")


def read_sessions(path: str | Path) -> list[Session]:
    """Read a sessions JSONL file; duplicate (domain, session_id) keys are an error."""
    seen: dict[tuple[str, str], int] = {}
    sessions = []
    for line_no, session in iter_sessions(path):
        if session.key in seen:
            raise DataError(
                f"{path}:{line_no}: duplicate session {session.domain}/{session.session_id} "
                f"(first at line {seen[session.key]})"
            )
        seen[session.key] = line_no
        sessions.append(session)
    return sessions


def write_sessions(path: str | Path, sessions: Iterable[Session]) -> int:
    """Write sessions atomically; returns how many were written."""
    rows = [session_to_json(session) for session in sessions]
    write_jsonl(path, rows)
    return len(rows)
