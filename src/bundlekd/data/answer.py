"""The bundle answer format shared by student and teacher (and, later, fine-tuning).

An answer is JSON: {"bundles": [{"items": [product numbers], "intent": "..."}]} where product
numbers are 1-based positions in the session (DESIGN.md §2). One schema serves constrained
decoding, the few-shot examples, parsing and (once fine-tuning exists) SFT targets, so they
cannot drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bundlekd.data.schema import Bundle, Session

MAX_BUNDLES = 5
MAX_INTENT_CHARS = 60  # what the schema allows and worked examples show
# Parsing is more lenient than the schema (unconstrained answers run longer); a longer intent
# is cut to this and the cut is reported in ParseResult.errors.
MAX_PARSED_INTENT_CHARS = 200
_PRODUCT_REF = re.compile(r"(?:product|item|p)?\s*#?\s*(\d+)", re.IGNORECASE)
_OPENER = re.compile(r"[{\[]")
# A cut-off or mis-quoted answer is repaired at its first broken bracket; a few more tries
# cover chatter with brackets before it.
_MAX_REPAIRS = 3
REPAIRED_NOTE = "answer JSON repaired: it did not decode as written (cut off or malformed)"

JsonContainer = dict[str, Any] | list[Any]


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
    """Canonical answer text for `bundles` (worked examples, teacher ground truth)."""
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


def iter_json_values(text: str) -> Iterator[JsonContainer]:
    """Every top-level JSON object or array in `text` that decodes as written, in order.

    Fences and chatter around the JSON are skipped; a value's nested values are not yielded
    apart from it. JSON that does not decode as written is `repaired_json_value`'s job.
    """
    decoder = json.JSONDecoder()
    end = 0
    for match in _OPENER.finditer(text):
        if match.start() < end:
            continue  # inside the value just decoded
        try:
            obj, end = decoder.raw_decode(text, match.start())
        except (json.JSONDecodeError, RecursionError):  # recursion: absurdly deep nesting
            continue
        if isinstance(obj, dict | list):
            yield obj


def repaired_json_value(text: str) -> JsonContainer | None:
    """The object or array json_repair recovers at the first bracket whose JSON does not decode
    as written (cut off at the token limit, single quotes, unquoted keys, trailing commas).

    That bracket is repaired up to the end of the text, or else up to the last closing bracket
    (trailing chatter). json_repair is not asked to scan the whole text: it merges several
    top-level values into one list (``[1, 2] [3, 4]`` reads like ``[[1, 2], [3, 4]]``) and
    keeps only the newest of values that look alike. So exact values come from the stdlib
    decoder (`iter_json_values`), and json_repair gets one broken value at a time (its strict
    mode refuses a second top-level value).
    """
    from json_repair import loads

    decoder = json.JSONDecoder()
    last_close = max(text.rfind("}"), text.rfind("]"))
    attempts = 0
    for match in _OPENER.finditer(text):
        start = match.start()
        try:
            decoder.raw_decode(text, start)
            continue  # decodes as written: not broken
        except (json.JSONDecodeError, RecursionError):
            pass
        attempts += 1
        if attempts > _MAX_REPAIRS:
            return None  # bracket soup, not an answer: each attempt costs a pass over the text
        for end in dict.fromkeys((len(text), last_close + 1)):
            if end <= start:
                continue
            try:
                repaired = loads(text[start:end], strict=True)
            except (ValueError, RecursionError):
                continue
            if isinstance(repaired, dict | list):
                return repaired
    return None


def is_answer_shape(value: JsonContainer) -> bool:
    """An answer: an object with a ``bundles`` list, or a list of bundles (objects or lists of
    product numbers; an empty list is a valid "no bundles" answer). ``[1, 2]`` is not one."""
    if isinstance(value, dict):
        return isinstance(value.get("bundles"), list)
    return not value or any(isinstance(bundle, dict | list) for bundle in value)


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

    The answer is the first JSON value of the answer shape (`is_answer_shape`), so chatter
    such as ``products [1, 2]`` before it is skipped; JSON that does not decode as written
    (cut off, single quotes, ...) is repaired by json_repair when no exact value fits, and
    `REPAIRED_NOTE` in `errors` says so.

    Item references are checked against the session: out-of-range or unreadable references
    are dropped (and counted as hallucinations), duplicates inside a bundle are removed,
    bundles left with fewer than 2 items are dropped, and repeated bundles are kept once.
    Intents longer than `MAX_PARSED_INTENT_CHARS` are cut, and the cut is reported in
    `errors`.
    """
    errors: list[str] = []
    exact = list(iter_json_values(text))
    obj = next((value for value in exact if is_answer_shape(value)), None)
    if obj is None:
        repaired = repaired_json_value(text)
        if repaired is not None and is_answer_shape(repaired):
            obj = repaired
            errors.append(REPAIRED_NOTE)
        else:
            first = exact[0] if exact else repaired
            if first is None:
                return ParseResult(
                    valid=False, errors=("unparsable: no JSON object in the output",)
                )
            thought = str(first.get("thought", "") or "") if isinstance(first, dict) else ""
            return ParseResult(
                valid=False, errors=("unparsable: no 'bundles' list",), thought=thought
            )
    thought = ""
    if isinstance(obj, dict):
        thought = str(obj.get("thought", "") or "")
        raw_bundles = obj["bundles"]
    else:
        raw_bundles = obj

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
        intent = intent.strip()
        if len(intent) > MAX_PARSED_INTENT_CHARS:
            errors.append(
                f"bundle {index}: intent cut to {MAX_PARSED_INTENT_CHARS} of {len(intent)} "
                "characters"
            )
            intent = intent[:MAX_PARSED_INTENT_CHARS]
        bundles.append(Bundle(items=item_ids, intent=intent))
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
