"""Check a sessions JSONL file and report every problem, not just the first.

Errors make the file unusable (bad JSON, schema violations, duplicate keys). Warnings flag data
that loads but is suspect: a GT bundle of fewer than 2 items, empty titles, and categories on a
val/test session (they leak the labels, DESIGN.md §2).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from bundlekd.data.schema import Session
from bundlekd.data.sessions_jsonl import describe_validation_error
from bundlekd.errors import DataError
from bundlekd.files import check_input_file, decode_utf8, parse_json


@dataclass
class SessionsFileReport:
    """Outcome of `validate_sessions_file`."""

    path: Path
    sessions: int = 0
    items: int = 0
    bundles: int = 0
    by_domain: Counter[str] = field(default_factory=Counter)
    by_split: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def session_warnings(session: Session) -> list[str]:
    """Suspect-but-loadable properties of one session."""
    found = []
    for index, bundle in enumerate(session.bundles or ()):
        if len(bundle.items) < 2:
            found.append(f"bundles[{index}] has {len(bundle.items)} item(s); GT bundles need >= 2")
    untitled = [item.item_id for item in session.items if not item.title.strip()]
    if untitled:
        found.append(f"{len(untitled)} item(s) without a title: {untitled[:5]}")
    if session.split in ("val", "test") and any(i.categories for i in session.items):
        found.append(f"categories on a {session.split} session leak the labels (DESIGN.md §2)")
    return found


def validate_sessions_file(path: str | Path, *, max_messages: int = 100) -> SessionsFileReport:
    """Validate every line of a sessions JSONL file.

    Raises:
        DataError: Only when the file does not exist; content problems go into the report.
    """
    path = check_input_file(path)
    report = SessionsFileReport(path=path)
    seen: dict[tuple[str, str], int] = {}

    def note(bucket: list[str], message: str) -> None:
        if len(bucket) < max_messages:
            bucket.append(message)

    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            where = f"{path}:{line_no}"
            try:
                line = decode_utf8(raw, where)
                if not line.strip():
                    continue
                session = Session.model_validate(parse_json(line, where))
            except DataError as exc:  # not UTF-8, invalid JSON, nested too deeply
                note(report.errors, str(exc))
                continue
            except ValidationError as exc:
                note(report.errors, f"{where}: {describe_validation_error(exc)}")
                continue
            if session.key in seen:
                note(
                    report.errors,
                    f"{where}: duplicate session {session.domain}/"
                    f"{session.session_id} (first at line {seen[session.key]})",
                )
                continue
            seen[session.key] = line_no
            report.sessions += 1
            report.items += len(session.items)
            report.bundles += len(session.bundles or ())
            report.by_domain[session.domain] += 1
            report.by_split[session.split or "none"] += 1
            for message in session_warnings(session):
                note(report.warnings, f"{where}: session {session.session_id}: {message}")
    if report.sessions == 0 and not report.errors:
        report.errors.append(f"{path}: no sessions")
    if report.by_split["none"]:
        report.warnings.append(
            f'{path}: {report.by_split["none"]} session(s) have no "split": generate and eval '
            "pick sessions by split (default test) and skip them unless given --split all"
        )
    return report
