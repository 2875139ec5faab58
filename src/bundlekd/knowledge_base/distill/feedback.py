"""Ground-truth feedback on predicted bundles: the error taxonomy of DESIGN.md §1 (pure).

Each predicted bundle p is compared with the ground-truth bundle g that has the highest Jaccard
similarity J(p, g):

- J = 1: correct, keep it.
- J = 0: invalid, remove it.
- 0 < J < 1 and p ⊂ g: missing products (a 1-item p "should contain at least 2 related products").
- 0 < J < 1 and p ⊄ g: contains irrelevant products (p − g, named by product number): remove them.

Unreadable or out-of-range product references count as hallucinations, an answer that is not
JSON at all is "unparsable", and ground-truth bundles that no prediction touches are reported as
"not found" (without naming their products: the teacher has to find them). Feedback always speaks
in product numbers (1..N, the session order), never item ids.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bundlekd.data.answer import ParseResult
from bundlekd.data.overlap import jaccard
from bundlekd.data.schema import Session

# answer.parse_answer reports bundles it dropped for having < 2 valid products with this message.
_DROPPED_SMALL = re.compile(r"^bundle (\d+): fewer than 2 valid products")


class ErrorKind(StrEnum):
    CORRECT = "correct"
    INVALID = "invalid"
    MISSING = "missing"
    IRRELEVANT = "irrelevant"
    HALLUCINATION = "hallucination"
    UNPARSABLE = "unparsable"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class FeedbackLine:
    """One finding about a teacher answer.

    Attributes:
        kind: the taxonomy branch.
        products: the predicted bundle as sorted product numbers (empty for answer-level lines).
        jaccard: max Jaccard of the bundle against the ground truth.
        irrelevant: product numbers to remove (IRRELEVANT only).
        count: hallucinated references (HALLUCINATION) or bundles not found (NOT_FOUND).
        bundle_index: 1-based position in the answer of a bundle the parser dropped (MISSING).
    """

    kind: ErrorKind
    products: tuple[int, ...] = ()
    jaccard: float = 0.0
    irrelevant: tuple[int, ...] = ()
    count: int = 0
    bundle_index: int = 0

    def text(self) -> str:
        bundle = f"Bundle {list(self.products)}" if self.products else ""
        if self.kind is ErrorKind.CORRECT:
            return f"{bundle}: correct, keep it."
        if self.kind is ErrorKind.INVALID:
            return f"{bundle}: invalid, these products do not form a bundle; remove it."
        if self.kind is ErrorKind.MISSING:
            if len(self.products) < 2:
                which = bundle or f"Bundle {self.bundle_index} of your answer"
                return f"{which}: should contain at least 2 related products."
            return f"{bundle}: incomplete, it is missing related products; add them."
        if self.kind is ErrorKind.IRRELEVANT:
            names = ", ".join(f"product {p}" for p in self.irrelevant)
            return f"{bundle}: contains irrelevant products ({names}); remove them."
        if self.kind is ErrorKind.HALLUCINATION:
            return (
                f"Your answer refers to {self.count} product(s) that do not exist in this "
                "session; use only the listed product numbers."
            )
        if self.kind is ErrorKind.UNPARSABLE:
            return "Your answer could not be read as the required JSON; follow the format exactly."
        return f"{self.count} bundle(s) in this session were not found by any of your bundles."


def classify_bundle(
    predicted: Sequence[str], ground_truth: Sequence[Sequence[str]], session: Session
) -> FeedbackLine:
    """Place one predicted bundle (item ids, any size) in the taxonomy.

    The reference bundle is the one with the highest Jaccard; among equals, one that contains
    the prediction wins (the kinder reading), then the first.
    """
    pred = set(predicted)
    products = tuple(sorted(session.position(i) for i in pred))
    best_j, best_g = 0.0, set()
    best_key = (-1.0, False)
    for g in ground_truth:
        gs = set(g)
        key = (jaccard(pred, gs), pred <= gs)
        if key > best_key:
            best_key, best_j, best_g = key, key[0], gs
    if best_j == 1.0:
        return FeedbackLine(ErrorKind.CORRECT, products, 1.0)
    if best_j == 0.0:
        return FeedbackLine(ErrorKind.INVALID, products, 0.0)
    if pred < best_g:
        return FeedbackLine(ErrorKind.MISSING, products, best_j)
    extra = tuple(sorted(session.position(i) for i in pred - best_g))
    return FeedbackLine(ErrorKind.IRRELEVANT, products, best_j, irrelevant=extra)


def feedback_for(parse_result: ParseResult, session: Session) -> list[FeedbackLine]:
    """All findings about one parsed teacher answer for a session with ground truth.

    Order: unparsable / hallucinations first, then one line per predicted bundle (answer order),
    then bundles the parser dropped for having fewer than 2 valid products, then a count of
    ground-truth bundles that no prediction overlaps.
    """
    if session.bundles is None:
        raise ValueError(f"session {session.session_id!r} has no ground truth to give feedback on")
    if not parse_result.valid:
        return [FeedbackLine(ErrorKind.UNPARSABLE)]
    truth = [b.items for b in session.bundles]
    lines: list[FeedbackLine] = []
    if parse_result.hallucinated_refs:
        lines.append(FeedbackLine(ErrorKind.HALLUCINATION, count=parse_result.hallucinated_refs))
    lines.extend(classify_bundle(b.items, truth, session) for b in parse_result.bundles)
    for error in parse_result.errors:
        match = _DROPPED_SMALL.match(error)
        if match:
            lines.append(FeedbackLine(ErrorKind.MISSING, bundle_index=int(match.group(1))))
    touched = [set(b.items) for b in parse_result.bundles]
    not_found = sum(1 for g in truth if not any(set(g) & p for p in touched))
    if not_found:
        lines.append(FeedbackLine(ErrorKind.NOT_FOUND, count=not_found))
    return lines


def render_feedback(lines: Sequence[FeedbackLine]) -> str:
    """The feedback as prompt text, one "- " line per finding."""
    if not lines:
        return "- You proposed no bundles and this session has none: correct."
    return "\n".join(f"- {line.text()}" for line in lines)


def count_kinds(lines: Iterable[FeedbackLine]) -> dict[str, int]:
    """How many findings of each kind (for reports and traces)."""
    return dict(Counter(str(line.kind) for line in lines))


def is_perfect(lines: Sequence[FeedbackLine]) -> bool:
    """True when every finding is CORRECT (or there was nothing to find)."""
    return all(line.kind is ErrorKind.CORRECT for line in lines)
