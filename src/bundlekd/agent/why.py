"""Chat's "why" questions, answered from the grouping tool's evidence (no LLM).

A question is read for bundle numbers ("bundle 2") and product numbers (any other number):
- "why" alone: the whole explanation (every bundle, every product left out, the pair table);
- "why bundle 2": that bundle's evidence;
- "why is 3 in bundle 1?" / "why not 3 in bundle 1": product 3's evidence to that bundle;
- "why 3": where product 3 is and why;
- "why 2 and 5": that pair's score and the training bundles that match both;
- three or more products: their evidence as if they were one bundle.
Numbers are the chat's: bundles as listed now (after any edit), products as in the session.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bundlekd.data.schema import Bundle, Session
from bundlekd.knowledge_base.grouping.explain import (
    Evidence,
    Explanation,
    explain,
    explain_pair,
    pull,
)
from bundlekd.knowledge_base.grouping.explain_text import (
    render_bundle,
    render_decoding_brief,
    render_explanation,
    render_pair,
    render_pull,
    render_support,
    short,
    symbol,
)

WHY_WORDS = ("why", "explain", "evidence")
_BUNDLE = re.compile(r"\bbundles?\s*(?:no\.?|number|#)?\s*(\d+)", re.I)
_NUMBER = re.compile(r"\d+")


class WhyError(ValueError):
    """A question naming a bundle or product that does not exist (one line, for the user)."""


@dataclass(frozen=True, slots=True)
class WhyQuestion:
    """What a "why" question asks about (1-based numbers)."""

    bundle: int | None
    products: tuple[int, ...]


def is_why(text: str) -> bool:
    """Whether a chat line asks for the tool's evidence ("why ...", "explain ...")."""
    first = re.split(r"[\s?!.,:]+", text.strip().lower(), maxsplit=1)[0]
    return first in WHY_WORDS


def parse_why(text: str) -> WhyQuestion:
    """The bundle (the first "bundle N") and products (every other number) of a question."""
    found = _BUNDLE.search(text)
    bundle = int(found.group(1)) if found else None
    rest = _BUNDLE.sub(" ", text)
    products = tuple(dict.fromkeys(int(n) for n in _NUMBER.findall(rest)))
    return WhyQuestion(bundle, products)


def answer_why(
    evidence: Evidence,
    session: Session,
    bundles: Sequence[Bundle],
    question: WhyQuestion,
    knowledge_ids: Sequence[str] = (),
) -> tuple[str, Explanation]:
    """The evidence text answering `question` about the current `bundles`, and the whole
    explanation it was read from.

    Raises:
        WhyError: a bundle or product number out of range.
    """
    groups = [[session.position(i) - 1 for i in b.items] for b in bundles]
    explanation = explain(
        evidence, groups, [b.intent for b in bundles], knowledge_ids=knowledge_ids
    )
    n_items = len(session.items)
    if question.bundle is not None and not 1 <= question.bundle <= len(bundles):
        raise WhyError(f"no bundle {question.bundle}: there are {len(bundles)}")
    bad = [p for p in question.products if not 1 <= p <= n_items]
    if bad:
        raise WhyError(f"no product {bad[0]}: the session has {n_items}")
    decoding = explanation.decoding
    brief = render_decoding_brief(decoding)
    products = question.products
    if not products:
        if question.bundle is None:
            return render_explanation(explanation), explanation
        why = explanation.bundles[question.bundle - 1]
        return "\n".join([*brief, "", *render_bundle(why, decoding)]), explanation
    if len(products) == 2:
        pair = explain_pair(evidence, products[0] - 1, products[1] - 1, groups)
        return "\n".join([*brief, "", render_pair(pair, decoding)]), explanation
    if len(products) > 2:
        asked = explain(evidence, [[p - 1 for p in products]])
        heading = f"Products {', '.join(map(str, sorted(products)))} as one bundle:"
        lines = render_bundle(asked.bundles[0], decoding, heading=heading)
        return "\n".join([*brief, "", *lines]), explanation
    product = products[0]
    return "\n".join([*brief, "", *_product(evidence, explanation, groups, product, question)]), (
        explanation
    )


def _product(
    evidence: Evidence,
    explanation: Explanation,
    groups: list[list[int]],
    product: int,
    question: WhyQuestion,
) -> list[str]:
    decoding = explanation.decoding
    s = symbol(decoding)
    title = evidence.session.items[product - 1].title
    home = next((n for n, g in enumerate(groups, start=1) if product - 1 in g), None)
    asked = question.bundle if question.bundle is not None else home
    lines = [f"{product}. {short(title, 74)}"]
    if asked is None:  # in no bundle, and no bundle named: its pull to each
        lines.append("It is in no bundle.")
        left = next(x for x in explanation.left_out if x.position == product)
        for one in left.pulls:
            lines.append("  " + render_pull(one, decoding))
        return _wrapped(lines)
    why = explanation.bundles[asked - 1]
    if asked != home:
        where = f"it is in bundle {home}" if home is not None else "it is in no bundle"
        lines.append(f'It is not in bundle {asked} "{why.intent}" ({where}).')
        if set(groups[asked - 1]) - {product - 1}:
            lines.append(
                "  " + render_pull(pull(evidence, product - 1, groups[asked - 1], asked), decoding)
            )
        return _wrapped(lines)
    member = next(m for m in why.members if m.position == product)
    links = ", ".join(f"{x.b if x.a == product else x.a}: {x.score:.2f}" for x in member.links)
    lines.append(
        f'It is in bundle {asked} "{why.intent}" (products {", ".join(map(str, why.positions))}).'
    )
    gain = f"; log-odds of keeping it {member.gain:+.2f}" if member.gain is not None else ""
    lines.append(f"  mean {s} {member.mean_to_others:.2f} to the others ({links}){gain}")
    if why.weakest is not None:
        lines.append(
            f"  the bundle's weakest link: {why.weakest.a}-{why.weakest.b} "
            f"{s} {why.weakest.score:.2f}; mean pair {s} {why.mean_score:.2f}"
        )
    lines.append(
        "  the tool's own grouping" if why.decoded else "  not what the tool decodes (edited)"
    )
    mine = [x for x in why.support if any(m.position == product for m in x.matches)]
    if not mine:
        return _wrapped(
            [
                *lines,
                f"  No training bundle in the item memory matches product {product} with "
                "another member.",
            ]
        )
    return _wrapped(lines) + render_support(mine, "  ")


def _wrapped(lines: list[str]) -> list[str]:
    import textwrap

    out: list[str] = []
    for line in lines:
        indent = line[: len(line) - len(line.lstrip())]
        out += textwrap.wrap(line, 80, subsequent_indent=indent + "  ") or [line]
    return out
