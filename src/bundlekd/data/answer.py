"""The bundle answer format shared by student, teacher and fine-tuning.

An answer is JSON: {"bundles": [{"items": [product numbers], "intent": "..."}]} where product
numbers are 1-based positions in the session (DESIGN.md §2). One schema serves constrained
decoding, the few-shot examples, SFT targets and parsing, so they cannot drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bundlekd.data.schema import Bundle, Session

MAX_BUNDLES = 5
MAX_INTENT_CHARS = 60
_PRODUCT_REF = re.compile(r"(?:product|item|p)?\s*#?\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What a completion said. `valid` means it parsed into the answer structure at all."""

    bundles: tuple[Bundle, ...] = ()
    valid: bool = False
    errors: tuple[str, ...] = ()
    thought: str = ""
    hallucinated_refs: int = 0


def answer_json_schema(
    n_items: int, *, max_bundles: int = MAX_BUNDLES, with_thought: bool = False
) -> dict[str, Any]:
    """JSON schema whose item references can only be this session's product numbers.

    Every array is bounded: without maxItems a 135M model repeats one number until the token
    limit cuts the JSON off (LIBS.md §1.4).
    """
    if n_items < 1:
        raise ValueError("a session needs at least one item")
    bundle = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {"type": "integer", "enum": list(range(1, n_items + 1))},
                "minItems": 2,
                "maxItems": max(2, min(n_items, 10)),
            },
            "intent": {"type": "string", "maxLength": MAX_INTENT_CHARS},
        },
        "required": ["items", "intent"],
        "additionalProperties": False,
    }
    properties: dict[str, Any] = {
        "bundles": {"type": "array", "items": bundle, "minItems": 0, "maxItems": max_bundles}
    }
    required = ["bundles"]
    if with_thought:
        properties = {"thought": {"type": "string", "maxLength": 1200}, **properties}
        required = ["thought", "bundles"]
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def format_answer(
    bundles: tuple[Bundle, ...] | list[Bundle], session: Session, thought: str | None = None
) -> str:
    """Canonical answer text for `bundles` (used for worked examples and SFT targets)."""
    rows = [
        {
            "items": sorted(session.position(i) for i in b.items),
            "intent": b.intent[:MAX_INTENT_CHARS],
        }
        for b in bundles
    ]
    payload: dict[str, Any] = {"bundles": rows}
    if thought is not None:
        payload = {"thought": thought, "bundles": rows}
    return json.dumps(payload, ensure_ascii=False)


def iter_json_values(text: str) -> Iterator[Any]:
    """Every JSON object or array decodable from `text`, in order (tolerates fences, chatter)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[{\[]", text):
        try:
            obj, _ = decoder.raw_decode(text[match.start() :])
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict | list):
            yield obj


def _extract_json_object(text: str) -> Any:
    """The first decodable JSON object or array in `text`."""
    for obj in iter_json_values(text):
        return obj
    raise ValueError("no JSON object found")


def _to_position(ref: Any) -> int | None:
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref
    if isinstance(ref, float) and ref.is_integer():
        return int(ref)
    if isinstance(ref, str):
        match = _PRODUCT_REF.fullmatch(ref.strip())
        if match:
            return int(match.group(1))
    return None


def parse_answer(text: str, session: Session) -> ParseResult:
    """Turn a completion into validated bundles; never raises on bad model output.

    Item references are checked against the session: out-of-range or unreadable references
    are dropped (and counted as hallucinations), duplicates inside a bundle are removed,
    bundles left with fewer than 2 items are dropped, and repeated bundles are kept once.
    """
    errors: list[str] = []
    try:
        obj = _extract_json_object(text)
    except ValueError:
        return ParseResult(valid=False, errors=("unparsable: no JSON object in the output",))
    thought = ""
    if isinstance(obj, dict):
        thought = str(obj.get("thought", "") or "")
        raw_bundles = obj.get("bundles")
    else:
        raw_bundles = obj
    if not isinstance(raw_bundles, list):
        return ParseResult(valid=False, errors=("unparsable: no 'bundles' list",), thought=thought)

    n_items = len(session.items)
    bundles: list[Bundle] = []
    seen: set[frozenset[str]] = set()
    hallucinated = 0
    for index, raw in enumerate(raw_bundles, start=1):
        if isinstance(raw, dict):
            refs, intent = raw.get("items", []), str(raw.get("intent", "") or "")
        elif isinstance(raw, list):
            refs, intent = raw, ""
        else:
            errors.append(f"bundle {index}: not an object")
            continue
        if not isinstance(refs, list):
            errors.append(f"bundle {index}: 'items' is not a list")
            continue
        positions: list[int] = []
        for ref in refs:
            position = _to_position(ref)
            if position is None or not 1 <= position <= n_items:
                hallucinated += 1
                errors.append(f"bundle {index}: unknown product reference {ref!r}")
                continue
            if position not in positions:
                positions.append(position)
        if len(positions) < 2:
            errors.append(f"bundle {index}: fewer than 2 valid products, dropped")
            continue
        item_ids = tuple(session.items[p - 1].item_id for p in sorted(positions))
        if frozenset(item_ids) in seen:
            errors.append(f"bundle {index}: repeats an earlier bundle, dropped")
            continue
        seen.add(frozenset(item_ids))
        bundles.append(Bundle(items=item_ids, intent=intent.strip()[:200]))
    return ParseResult(
        bundles=tuple(bundles),
        valid=True,
        errors=tuple(errors),
        thought=thought,
        hallucinated_refs=hallucinated,
    )


@dataclass(frozen=True, slots=True)
class SessionListing:
    """Numbered product lines for a prompt: titles only (never categories: label leak)."""

    lines: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, session: Session) -> SessionListing:
        return cls([f"{i}. {item.title}" for i, item in enumerate(session.items, start=1)])

    def text(self) -> str:
        return "\n".join(self.lines)
