"""How the report's findings rank and describe cells: whole bundles first.

A cell is ranked by `HEADLINE` (GJS) on the report split and described by the whole-bundle
metrics beside it (`WHOLE`: exact P/R, pair F1) and by AICL's subset-hit metrics held as
guard rails against the clustering bar of the same sessions (`GUARDS`: strict P / unique R).
Where another cell leads one of those by at least `LEAD`, the finding says so: a cell that
wins GJS but loses exact P or strict P is named as such, not as the winner outright.

Results written before the whole-bundle metrics existed have no GJS; a set of results where
any cell lacks it is ranked by (P+R)/2 (`PR`) instead, and the finding says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bundlekd.app.study.verdicts import BAR, LONG, row_of

#: the metric a finding ranks cells by (the tool's settings are chosen by val GJS too)
HEADLINE = "gjs"
#: whole-bundle metrics reported beside the headline
WHOLE: tuple[str, ...] = ("exact_precision", "exact_recall", "pair_f1")
#: AICL's strict P / unique R: guard rails, judged against the clustering bar
GUARDS: tuple[str, ...] = ("precision", "recall")
#: the ranking of results from before the whole-bundle metrics
PR = "(P+R)/2"
#: a lead smaller than this is a tie (180 sessions: one session moves a mean by ~0.006)
LEAD = 0.005


def metric_name(metric: str) -> str:
    return metric if metric == PR else LONG.get(metric, metric)


def value(row: dict[str, Any] | None, metric: str) -> float | None:
    """`metric` of a table row; `PR` is (strict P + strict uniq R) / 2."""
    if row is None:
        return None
    if metric == PR:
        return (float(row["precision"]) + float(row["recall"])) / 2
    found = row.get(metric)
    return None if found is None else float(found)


def arm_row(result: dict[str, Any], domain: str) -> dict[str, Any] | None:
    """The row of what the cell ran (its arm) in `domain`."""
    return row_of(result, domain, result["arm"])


def headline(results: Sequence[dict[str, Any]], domains: Sequence[str]) -> str:
    """`HEADLINE` where every cell's row records it, else `PR` (older results)."""
    rows = [row for r in results for d in domains if (row := arm_row(r, d)) is not None]
    if rows and all(row.get(HEADLINE) is not None for row in rows):
        return HEADLINE
    return PR


def scored(
    results: Sequence[dict[str, Any]], domain: str, metric: str
) -> list[tuple[dict[str, Any], float]]:
    """(result, its `metric` in `domain`) for every cell that recorded it."""
    out = []
    for result in results:
        found = value(arm_row(result, domain), metric)
        if found is not None:
            out.append((result, found))
    return out


def best(pairs: Sequence[tuple[dict[str, Any], float]]) -> tuple[dict[str, Any], float]:
    """The highest-scoring cell (first listed on a tie)."""
    return max(pairs, key=lambda rv: rv[1])


def _pair(row: dict[str, Any], a: str, b: str) -> str | None:
    first, second = value(row, a), value(row, b)
    if first is None or second is None:
        return None
    return f"{first:.3f}/{second:.3f}"


def profile(row: dict[str, Any], metric: str = HEADLINE) -> str:
    """'GJS 0.608, exact P/R 0.434/0.433, pair F1 0.409, strict P/uR 0.783/0.755' (what the
    row records; the headline first)."""
    parts = []
    head = value(row, metric)
    if head is not None:
        parts.append(f"{metric_name(metric)} {head:.3f}")
    exact = _pair(row, "exact_precision", "exact_recall")
    if exact is not None and metric != PR:
        parts.append(f"exact P/R {exact}")
    pair_f1 = value(row, "pair_f1")
    if pair_f1 is not None and metric != PR:
        parts.append(f"pair F1 {pair_f1:.3f}")
    parts.append(f"strict P/uR {_pair(row, 'precision', 'recall')}")
    return ", ".join(parts)


def guard(result: dict[str, Any], domain: str) -> str:
    """Strict P / uR against the clustering bar of the same sessions: held, or where not."""
    row, bar = arm_row(result, domain), row_of(result, domain, BAR)
    if row is None or bar is None:
        return ""
    below = [
        f"{'P' if m == 'precision' else 'uR'} {row[m]:.3f} < {bar[m]:.3f}"
        for m in GUARDS
        if row[m] < bar[m]
    ]
    if not below:
        return f"strict P/uR at or above the bar's ({_pair(bar, 'precision', 'recall')})"
    return "below the bar on the guard rails: strict " + ", ".join(below)


def tradeoffs(
    top: dict[str, Any],
    pairs: Sequence[tuple[dict[str, Any], float]],
    domain: str,
    metric: str = HEADLINE,
) -> str:
    """Cells that lead the top cell by at least `LEAD` in a metric beside the headline:
    'X leads exact R (0.436 vs 0.433) and pair F1 (0.442 vs 0.409) at GJS 0.601.'"""
    others = (*WHOLE, *GUARDS) if metric != PR else ()
    top_row = arm_row(top, domain)
    leads: dict[str, list[str]] = {}
    heads: dict[str, float] = {}
    for other in others:
        mine = value(top_row, other)
        candidates = [(r, value(arm_row(r, domain), other)) for r, _ in pairs]
        ranked = [(r, v) for r, v in candidates if v is not None]
        if mine is None or not ranked:
            continue
        leader, lead = max(ranked, key=lambda rv: rv[1])
        if leader is top or lead - mine < LEAD:
            continue
        leads.setdefault(leader["label"], []).append(
            f"{metric_name(other)} ({lead:.3f} vs {mine:.3f})"
        )
        heads[leader["label"]] = next(v for r, v in pairs if r is leader)
    sentences = [
        f"{label} leads {' and '.join(what)} at {metric_name(metric)} {heads[label]:.3f}."
        for label, what in leads.items()
    ]
    return " ".join(sentences)
