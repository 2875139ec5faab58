"""KnowledgeItem: one line of `knowledge.jsonl`, plus its numbered schema migrations.

The id is a content hash of (kind, domain, normalised text), so the same knowledge distilled
twice gets the same id and an incremental update can tell new items from known ones (P10).

Every field is validated on the way in (`kb add`) and on load, `stats` included: it holds JSON
values only, and the keys the code reads (`merged_ids`, `merged_count`, `support`, `titles`, ...)
have the types it expects, so one bad row is refused where it is, naming file, line and field,
instead of breaking every later update.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bundlekd.errors import DataError
from bundlekd.files import canonical_hash

KnowledgeKind = Literal["pattern", "rule", "thought", "exemplar"]
ItemStatus = Literal["active", "superseded", "removed"]
KINDS: tuple[str, ...] = ("pattern", "rule", "thought", "exemplar")
#: Kinds built from the ground truth itself, without a teacher: never from test sessions.
LABEL_KINDS: frozenset[str] = frozenset({"pattern", "exemplar"})
STATUSES: tuple[str, ...] = ("active", "superseded", "removed")

#: Current version of one `knowledge.jsonl` row. Bump it only together with a new MIGRATIONS entry.
SCHEMA_VERSION = 1


def normalise_text(text: str) -> str:
    """Case- and whitespace-insensitive form of a text; the id hashes this, not the raw text."""
    return re.sub(r"\s+", " ", text).strip().lower()


def content_id(kind: str, domain: str, text: str) -> str:
    """The id of an item: a hash of kind, domain and the normalised text."""
    return canonical_hash({"kind": kind, "domain": domain, "text": normalise_text(text)})


def _is_json(value: Any, depth: int = 0) -> bool:
    """A JSON value (finite numbers, string keys), nested at most 32 deep."""
    if depth > 32:
        return False
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_is_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return False


def _string_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


#: The `stats` keys the code reads, with the type it needs (other keys: any JSON value).
STATS_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "merged_ids": (_string_list, "a list of item ids"),
    "merged_count": (_count, "a non-negative integer"),
    "count": (_count, "a non-negative integer"),
    "n_bundles": (_count, "a non-negative integer"),
    "support": (_number, "a number"),
    "confidence": (_number, "a number"),
    "lift": (_number, "a number"),
    "intent": (lambda v: isinstance(v, str), "a string"),
    "session_id": (lambda v: isinstance(v, str), "a string"),
    "thought": (lambda v: isinstance(v, str), "a string"),
    "answer": (lambda v: isinstance(v, str), "a string"),
    "titles": (_string_list, "a list of strings"),
    "others": (_string_list, "a list of strings"),
    "categories": (_string_list, "a list of strings"),
    "title_categories": (
        lambda v: isinstance(v, dict) and all(_string_list(p) for p in v.values()),
        "a mapping of titles to category paths",
    ),
    "antecedent": (_string_list, "a list of strings"),
    "consequent": (_string_list, "a list of strings"),
}


def check_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """`stats` if it holds JSON values and its known keys have their types; else ValueError."""
    for key, value in stats.items():
        if not isinstance(key, str) or not _is_json(value):
            raise ValueError(f"stats[{key!r}] is not a JSON value: {value!r:.60}")
        if key in STATS_TYPES:
            check, expected = STATS_TYPES[key]
            if not check(value):
                raise ValueError(f"stats[{key!r}] must be {expected}, got {value!r:.60}")
    return stats


def row_error(exc: ValidationError) -> str:
    """``field 'stats': stats['merged_ids'] must be a list of item ids, got 5`` (every error)."""
    parts = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error.get("loc", ())) or "<row>"
        parts.append(
            f"field '{loc}': {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}"
        )
    return "; ".join(parts)


def _as_tuple(values: Iterable[str]) -> Any:
    return values if isinstance(values, str | bytes) else tuple(values)


def labelled_by(item: KnowledgeItem) -> dict[str, Any] | None:
    """Who labelled this exemplar (`stats.feedback`: source, author, at), None for knowledge
    distilled from a data set."""
    found = item.stats.get("feedback")
    return found if isinstance(found, dict) else None


def utc_now() -> str:
    """ISO-8601 UTC timestamp with a trailing Z, second precision."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KnowledgeItem(BaseModel):
    """One unit of distilled knowledge with its provenance (DESIGN.md §5)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Content hash of kind + domain + normalised text.")
    kind: KnowledgeKind = Field(description="Knowledge format: pattern, rule, thought or exemplar.")
    text: str = Field(description="The knowledge itself, as it goes into a prompt.")
    domain: str = Field(description="Domain it was distilled from (electronic, clothing, ...).")
    source_session_ids: tuple[str, ...] = Field(
        default=(), description="Sessions that fed this item (sorted, unique)."
    )
    source_splits: tuple[str, ...] = Field(
        default=(), description="Splits those sessions came from (never 'test')."
    )
    teacher: str = Field(default="", description="Teacher model id, or 'apriori' for patterns.")
    prompt_version: str = Field(default="", description="Version of the distillation prompt.")
    created_at: str = Field(default_factory=utc_now, description="ISO UTC creation time.")
    status: ItemStatus = Field(default="active", description="active, superseded or removed.")
    superseded_by: str | None = Field(default=None, description="Id of the replacing item.")
    stats: dict[str, Any] = Field(
        default_factory=dict, description="support, confidence, merged_count, ..."
    )
    schema_version: int = Field(
        default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION, description="Row schema version."
    )

    @field_validator("text", "domain")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("source_session_ids", "source_splits")
    @classmethod
    def _sorted_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not v.strip() for v in value):
            raise ValueError("holds an empty string")
        # Sorted and unique, so merging provenance is order-independent.
        return tuple(sorted(set(value)))

    @field_validator("created_at")
    @classmethod
    def _iso_time(cls, value: str) -> str:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO-8601 time: {value!r:.40}") from None
        return value

    @field_validator("stats")
    @classmethod
    def _json_stats(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_stats(value)

    @model_validator(mode="after")
    def _check_id(self) -> KnowledgeItem:
        expected = content_id(self.kind, self.domain, self.text)
        if self.id != expected:
            raise ValueError(f"id {self.id!r} is not the content hash {expected!r} of the item")
        if self.superseded_by is not None and self.status != "superseded":
            raise ValueError("superseded_by is set but status is not 'superseded'")
        return self

    @classmethod
    def new(
        cls,
        kind: str,
        text: str,
        domain: str,
        *,
        source_session_ids: Iterable[str] = (),
        source_splits: Iterable[str] = (),
        teacher: str = "",
        prompt_version: str = "",
        stats: dict[str, Any] | None = None,
        created_at: str | None = None,
    ) -> KnowledgeItem:
        """Build an active item and compute its id from kind, domain and text."""
        return cls(
            id=content_id(kind, domain, text),
            kind=kind,  # validated by pydantic
            text=text,
            domain=domain,
            # A string is not a list of ids: let validation refuse it rather than split it.
            source_session_ids=_as_tuple(source_session_ids),
            source_splits=_as_tuple(source_splits),
            teacher=teacher,
            prompt_version=prompt_version,
            stats=stats if stats is not None else {},
            created_at=created_at or utc_now(),
        )

    def to_row(self) -> dict[str, Any]:
        """The JSON object written to `knowledge.jsonl`."""
        return self.model_dump(mode="json")

    def replace(self, **changes: Any) -> KnowledgeItem:
        """A validated copy with some fields changed (the model is frozen)."""
        return KnowledgeItem.model_validate({**self.to_row(), **changes})


# --- migrations ------------------------------------------------------------------------------
# MIGRATIONS[n] upgrades a row from schema_version n to n + 1. Append-only: never edit or
# reorder an entry once released, only add the next one (simonw/llm migrations style).


def _m000_initial(row: dict[str, Any]) -> dict[str, Any]:
    """v0 (pre-release rows without schema_version) -> v1: fill provenance defaults."""
    row = dict(row)
    row.setdefault("status", "active")
    row.setdefault("superseded_by", None)
    row.setdefault("source_session_ids", [])
    row.setdefault("source_splits", [])
    row.setdefault("teacher", "")
    row.setdefault("prompt_version", "")
    row.setdefault("stats", {})
    row.setdefault("created_at", utc_now())
    if "id" not in row and {"kind", "domain", "text"} <= row.keys():
        row["id"] = content_id(row["kind"], row["domain"], row["text"])
    row["schema_version"] = 1
    return row


MIGRATIONS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [_m000_initial]
assert len(MIGRATIONS) == SCHEMA_VERSION, "every schema version needs its migration"


def migrate_row(row: dict[str, Any], where: str = "") -> tuple[dict[str, Any], bool]:
    """Bring one raw row to SCHEMA_VERSION; returns (row, whether it changed)."""
    version = row.get("schema_version", 0)
    if not isinstance(version, int) or version < 0:
        raise DataError(
            f"{where}: field 'schema_version': expected a non-negative int, got {version!r}"
        )
    if version > SCHEMA_VERSION:
        raise DataError(
            f"{where}: schema_version {version} is newer than this bundlekd supports "
            f"({SCHEMA_VERSION}); upgrade bundlekd"
        )
    changed = version < SCHEMA_VERSION
    for step in MIGRATIONS[version:]:
        row = step(row)
    return row, changed
