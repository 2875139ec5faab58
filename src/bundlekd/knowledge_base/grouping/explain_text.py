"""Plain text of an `Explanation` for an 80-column terminal (deterministic; no LLM).

Every number shown is one of the tool's: pair scores (p for the learned scorer's
probabilities, cos for cosines), the decoding settings chosen on val and their val scores,
and the title similarities of the training bundles that match.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

import numpy as np

from bundlekd.knowledge_base.grouping.explain import (
    BundleWhy,
    Decoding,
    Explanation,
    Link,
    PairWhy,
    Pull,
    Support,
)

WIDTH = 80
_TITLE_CHARS = 46
_MATRIX_MAX = 12  # 5 + 12 * 6 columns fit in 80 (cosines may be negative)
_RULES = {
    "partition": "the grouping with the largest summed pair log-odds past the threshold {t}: "
    "a product stays in a bundle while its summed log-odds to the others is positive",
    "average": "average linkage: groups join while their mean pair {s} is at least {t}",
    "complete": "complete linkage: groups join while their lowest pair {s} is at least {t}",
    "single": "single linkage: groups join while their highest pair {s} is at least {t}",
    "pairs": "pairs: the surest pair, then each further pair of unused products with {s} "
    "at least {t}",
}
_VAL_NAMES = {
    "gjs": "GJS",
    "precision": "strict P",
    "recall": "uR",
    "exact_precision": "exact P",
    "exact_recall": "exact R",
    "coverage": "coverage",
}


def symbol(decoding: Decoding) -> str:
    """How the pair score is named: p (probability) or cos (cosine)."""
    return "p" if decoding.scale == "probability" else "cos"


def short(title: str, limit: int = _TITLE_CHARS) -> str:
    flat = " ".join(title.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def render_explanation(explanation: Explanation) -> str:
    """The whole explanation: decoding, every bundle, every product left out."""
    lines = render_decoding(explanation.decoding)
    if not explanation.bundles:
        lines += ["", "No bundles."]
    for why in explanation.bundles:
        lines += ["", *render_bundle(why, explanation.decoding)]
    if explanation.left_out:
        lines += ["", "Left out:"]
        for left in explanation.left_out:
            lines.append(f"  {left.position}. {short(left.title, 70)}")
            if left.pulls:
                lines += _wrap(render_pull(left.pulls[0], explanation.decoding), "      ")
    lines += ["", *render_scores(explanation)]
    if explanation.knowledge_ids:
        lines += ["", *_wrap("Knowledge items used: " + ", ".join(explanation.knowledge_ids))]
    return "\n".join(lines)


def render_scores(explanation: Explanation) -> list[str]:
    """Every pair's score as a table (row and column k: product k); '·' on the diagonal."""
    n = len(explanation.scores)
    s = symbol(explanation.decoding)
    if n > _MATRIX_MAX:
        return [f"(pair {s} table left out: {n} products, over {_MATRIX_MAX})"]
    lines = [
        f"Pair {s} of every two products:",
        "     " + "".join(f"{k:>6}" for k in range(1, n + 1)),
    ]
    for k, row in enumerate(explanation.scores, start=1):
        cells = "".join("     ·" if j == k - 1 else f"{x:6.2f}" for j, x in enumerate(row))
        lines.append(f"{k:>5}{cells}")
    return lines


def render_decoding(decoding: Decoding) -> list[str]:
    s = symbol(decoding)
    what = "probabilities" if s == "p" else "title cosines"
    lines = _wrap(
        f"From the grouping tool's evidence ({decoding.scorer} scorer: pair {what} '{s}'; "
        "no language model)."
    )
    settings = decoding.settings
    how = f"chosen on val by {decoding.objective}" if decoding.objective else "chosen on val"
    if decoding.guard:
        how += "; guard rails " + ("met" if decoding.guard.get("met") else "NOT met")
    if not decoding.tuned:
        how = "the tool's defaults: it was not tuned on this domain"
    policy = str(settings.get("policy", ""))
    rule = _RULES.get(policy, policy).format(s=s, t=f"{settings.get('threshold', 0):.2f}")
    floors = ""
    if policy == "partition" and (settings.get("member_floor") or settings.get("bundle_floor")):
        floors = (
            f"; then a member of 3+ leaves while its mean {s} to the others is below "
            f"{settings['member_floor']:.2f}, and a bundle (not the surest) goes while its "
            f"mean pair {s} is below {settings['bundle_floor']:.2f}"
        )
    fallback = "; with no bundle, the surest pair" if settings.get("fallback_pair") else ""
    lines += _wrap(f"Decoding for {decoding.domain} ({how}): {rule}{floors}{fallback}.")
    if decoding.val_scores:
        bar = decoding.val_bar
        scores = ", ".join(
            f"{_VAL_NAMES.get(k, k)} {v:.2f}" + (f" ({bar[k]:.2f})" if k in bar else "")
            for k, v in decoding.val_scores.items()
        )
        against = " (in brackets: the title-clustering bar's)" if bar else ""
        lines += _wrap(f"Val scores of these settings{against}: {scores}.")
    if decoding.fallback:
        lines += _wrap(
            "Nothing cleared the threshold in this session: the tool's bundle is its surest "
            "pair (the fallback)."
        )
    lines += _labelled_line(decoding)
    return lines


def _labelled_line(decoding: Decoding) -> list[str]:
    who = decoding.labelled
    if not who:
        return []
    return _wrap(
        f"This session was labelled by {who.get('author') or 'someone'} "
        f"(via {who.get('source') or '?'}, {who.get('at') or '?'}): the answer is that label; "
        "the scores above are the tool's own evidence."
    )


def render_decoding_brief(decoding: Decoding) -> list[str]:
    """One or two lines: whose numbers these are and how they were decoded."""
    settings = decoding.settings
    how = f"chosen on val by {decoding.objective}" if decoding.objective else "chosen on val"
    if not decoding.tuned:
        how = "defaults: not tuned on this domain"
    floors = ""
    if settings.get("policy") == "partition" and (
        settings.get("member_floor") or settings.get("bundle_floor")
    ):
        floors = (
            f", member floor {settings['member_floor']:.2f}, "
            f"bundle floor {settings['bundle_floor']:.2f}"
        )
    return _wrap(
        f"Grouping tool's evidence ({decoding.scorer} scorer, pair {symbol(decoding)}; "
        f"{settings.get('policy')} at threshold {float(settings.get('threshold', 0)):.2f}"
        f"{floors}, {how}; no language model)."
    ) + _labelled_line(decoding)


def render_bundle(why: BundleWhy, decoding: Decoding, heading: str | None = None) -> list[str]:
    """A bundle's evidence; `heading` replaces its first line (`Bundle N "intent": ...`)."""
    s = symbol(decoding)
    positions = ", ".join(map(str, why.positions))
    intent = why.intent or "(no intent)"
    lines = _wrap(heading or f'Bundle {why.number} "{intent}": products {positions}')
    summary = f"mean pair {s} {why.mean_score:.2f}"
    if why.weakest is not None:
        summary += f", weakest link {_pair(why.weakest, s)}"
    summary += "; the tool's own grouping" if why.decoded else "; not what the tool decodes"
    lines += _wrap(summary, "  ")
    for member in why.members:
        gain = f", log-odds {member.gain:+.2f}" if member.gain is not None else ""
        lines.append(f"  {member.position}. {short(member.title, 70)}")
        links = ", ".join(
            f"{x.b if x.a == member.position else x.a}: {x.score:.2f}" for x in member.links
        )
        lines += _wrap(
            f"mean {s} {member.mean_to_others:.2f} to the others ({links}){gain}", "      "
        )
    lines += render_support(why.support, "  ")
    return lines


def render_support(support: Iterable[Support], indent: str = "") -> list[str]:
    found = list(support)
    if not found:
        return [f"{indent}No training bundle in the item memory matches these products."]
    if any(len({m.training_title for m in x.matches}) >= 2 for x in found):
        head = (
            "Training bundles with matching products (exemplar id, intent, summed title "
            "similarity; product ~ its nearest item there):"
        )
    else:
        head = (
            "No training bundle holds near matches of two of these products; the nearest "
            "ones (exemplar id, intent, summed title similarity):"
        )
    lines = _wrap(head, indent)
    for item in found:
        lines += _wrap(
            f'{item.exemplar_id} "{item.intent or "(no intent)"}" ({item.vote:.2f})',
            indent + "  ",
        )
        for match in item.matches:
            lines += _wrap(
                f'{match.position} ~ "{short(match.training_title)}" ({match.similarity:.2f})',
                indent + "    ",
            )
    return lines


def render_pull(pull: Pull, decoding: Decoding) -> str:
    """One line of why a product outside a bundle is not in it."""
    s = symbol(decoding)
    text = (
        f"to bundle {pull.bundle}: best {_pair(pull.best, s)}, mean {pull.mean:.2f}, "
        f"weakest {pull.weakest.score:.2f}"
    )
    threshold = float(decoding.settings.get("threshold", 0.0))
    if pull.gain is not None:
        text += f"; log-odds of joining {pull.gain:+.2f} (the partition needs > 0)"
    else:
        text += f"; threshold {threshold:.2f}"
    return text


def render_pair(pair: PairWhy, decoding: Decoding) -> str:
    s = symbol(decoding)
    a, b = pair.link.a, pair.link.b
    lines = [
        f"{a}. {short(pair.titles[0], 70)}",
        f"{b}. {short(pair.titles[1], 70)}",
    ]
    where = (
        f"together in bundle {pair.together_in}"
        if pair.together_in is not None
        else "not in one bundle"
    )
    threshold = float(decoding.settings.get("threshold", 0.0))
    odds = ""
    if decoding.settings.get("policy") == "partition":
        from bundlekd.knowledge_base.grouping.partition import log_odds_weights

        weight = log_odds_weights(
            np.array([[1.0, pair.link.score], [pair.link.score, 1.0]]), threshold
        )
        odds = f", log-odds {float(weight[0, 1]):+.2f} past it"
    lines += _wrap(
        f"Pair {s} {pair.link.score:.2f} (threshold {threshold:.2f}{odds}); they are {where}."
    )
    lines += render_support(pair.support)
    return "\n".join(lines)


def _pair(link: Link, s: str) -> str:
    return f"{link.a}-{link.b} {s} {link.score:.2f}"


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False
    ) or [indent]
