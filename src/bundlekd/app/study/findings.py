"""The paragraph per question: what the numbers say, next to the study's findings.

The study (arXiv 2504.17220) found: more knowledge helps ICL (RQ2); SFT peaks at an intermediate
ratio (RQ2); SFT+ICL with mixed formats is best (RQ1/RQ3). Each paragraph states, from the
cells' test numbers, whether the same holds here, and says where it cannot be judged.

Cells are ranked by whole bundles (GJS, with exact P/R and pair F1 beside it) and AICL's
strict P / unique R are guard rails against the clustering bar (`ranking.py`); where a cell
wins one metric but loses another, the paragraph says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bundlekd.app.study.ranking import (
    PR,
    arm_row,
    best,
    guard,
    headline,
    metric_name,
    profile,
    scored,
    tradeoffs,
    value,
)
from bundlekd.app.study.verdicts import row_of, table_label

# a knowledge kind with fewer items than this barely changes a prompt (or trains an adapter)
SCARCE_ITEMS = 20


def paragraph(question: str, results: Sequence[dict[str, Any]], domains: Sequence[str]) -> str:
    if question == "quantity":
        return _quantity(results, domains)
    if question == "format":
        return _format(results, domains)
    if question == "utilization":
        return _utilization(results, domains)
    return (
        "A smoke grid: it checks the machinery, its numbers (a handful of sessions) mean nothing."
    )


def _older(metric: str) -> str:
    """What a paragraph ranked by (P+R)/2 says about it."""
    if metric != PR:
        return ""
    return (
        "(Ranked by (P+R)/2: some of these cells were scored before the whole-bundle metrics "
        "existed and record no GJS; re-run them for the whole-bundle ranking.)"
    )


def _best_in(results: Sequence[dict[str, Any]], domain: str, metric: str, prefix: str) -> list[str]:
    """'<prefix> best by GJS X (profile; guard). Y leads ... at GJS ...' for one domain."""
    pairs = scored(results, domain, metric)
    if not pairs:
        return []
    top, _ = best(pairs)
    held = guard(top, domain)
    shown = profile(arm_row(top, domain) or {}, metric) + (f"; {held}" if held else "")
    text = f"{prefix}best by {metric_name(metric)} {top['label']} ({shown})."
    return [p for p in (text, tradeoffs(top, pairs, domain, metric)) if p]


def _quantity(results: Sequence[dict[str, Any]], domains: Sequence[str]) -> str:
    metric = headline(results, domains)
    parts = []
    peaks_inside = 0
    curves = 0
    for domain in domains:
        series: dict[str, dict[float, tuple[float, float]]] = {}
        for result, found in scored(results, domain, metric):
            cell = result["cell"]
            strict = float((arm_row(result, domain) or {})["precision"])
            series.setdefault(f"{cell['strategy']}/{cell['scope']}", {})[cell["ratio"]] = (
                found,
                strict,
            )
        notes = []
        for curve, points in sorted(series.items()):
            if len(points) < 2:
                continue
            curves += 1
            top = max(points, key=lambda r: (points[r][0], -r))
            enough = min(r for r in points if points[r][0] >= points[top][0] - 0.01)
            peaks_inside += top < max(points)
            note = f"{curve} peaks at {top:g} (within 0.01 from {enough:g})"
            strict_top = max(points, key=lambda r: (points[r][1], -r))
            if metric != PR and points[strict_top][1] - points[top][1] >= 0.005:
                note += (
                    f", strict P best at {strict_top:g} ({points[strict_top][1]:.3f} vs "
                    f"{points[top][1]:.3f})"
                )
            notes.append(note)
        if notes:
            parts.append(f"**{domain}** ({metric_name(metric)}): " + "; ".join(notes) + ".")
    if not curves:
        return "Too few ratios finished to draw a curve."
    parts.append(_val_choice(results, domains, metric))
    parts.append(_mean_per_ratio(results, domains, metric))
    parts.append(_pairs_fallback(results))
    llm = all(r["cell"]["student"] == "llm" for r in results)
    sessions = _sessions(results)
    noise = (
        f"one session of {sessions} moves a domain's {metric_name(metric)} by up to "
        f"{1 / max(sessions, 1):.2f}"
    )
    if llm:
        verdict = (
            f"In {peaks_inside} of {curves} curves the best test ratio is below the largest ratio "
            f"run, but {noise}: the LLM student's curves are within that noise. The study found "
            "that more knowledge helps ICL; a 135M student on this sample cannot show it or its "
            "opposite (the same grid runs without `sample` on a GPU box)."
        )
        return " ".join([*filter(None, parts), verdict, _older(metric)]).strip()
    verdict = (
        f"In {peaks_inside} of {curves} curves the best test ratio is below the largest ratio "
        f"run: there, more exemplars stop helping the grouping tool's {metric_name(metric)} (a gap "
        f"under ~0.02 is within the noise of {sessions} sessions)."
    )
    return (
        " ".join([*filter(None, parts), verdict])
        + " The study found that more knowledge helps ICL and that SFT peaks at an intermediate "
        "ratio; the tool's memory is the ICL analogue here, so a curve that keeps rising to 1.0 "
        "agrees with it, and a curve that peaks inside disagrees."
        + (f" {_older(metric)}" if metric == PR else "")
    )


def _mean_per_ratio(results: Sequence[dict[str, Any]], domains: Sequence[str], metric: str) -> str:
    """The headline metric (and strict P, the guard) on the report split averaged over every
    strategy, scope and domain, per ratio: the overall shape of 'more knowledge'."""
    per_ratio: dict[float, list[tuple[float, float]]] = {}
    for domain in domains:
        for result, found in scored(results, domain, metric):
            strict = float((arm_row(result, domain) or {})["precision"])
            per_ratio.setdefault(result["cell"]["ratio"], []).append((found, strict))
    if len(per_ratio) < 2:
        return ""

    def mean(points: list[tuple[float, float]], i: int) -> float:
        return sum(p[i] for p in points) / len(points)

    heads = ", ".join(f"{r:g}: {mean(v, 0):.3f}" for r, v in sorted(per_ratio.items()))
    text = f"Mean test {metric_name(metric)} over every curve and domain, per ratio: {heads}"
    if metric == PR:
        return text + "."
    guards = ", ".join(f"{r:g}: {mean(v, 1):.3f}" for r, v in sorted(per_ratio.items()))
    return text + f"; strict P: {guards}."


def _val_choice(results: Sequence[dict[str, Any]], domains: Sequence[str], metric: str) -> str:
    """The ratio each curve would choose on val (the headline averaged over the domains)."""
    curves: dict[str, dict[float, float]] = {}
    for result in results:
        scores = ((result.get("chosen") or {}).get("tool_val_scores") or {}).get("value") or {}
        mine = [value(scores[d], metric) for d in domains if d in scores]
        if not mine or any(v is None for v in mine):
            continue
        cell = result["cell"]
        curves.setdefault(f"{cell['strategy']}/{cell['scope']}", {})[cell["ratio"]] = sum(
            v for v in mine if v is not None
        ) / len(mine)
    picks = [
        f"{curve} {max(points, key=lambda r: (points[r], r)):g}"
        for curve, points in sorted(curves.items())
        if len(points) > 1
    ]
    if not picks:
        return ""
    return (
        f"Chosen on val (mean val {metric_name(metric)} over the domains), the ratio is: "
        + ", ".join(picks)
        + "."
    )


def _scarce_knowledge(results: Sequence[dict[str, Any]]) -> str:
    """Name the kinds of the LLM cells' formats their KB holds none or only a handful of
    (under SCARCE_ITEMS): such cells measure the prompt scaffold more than the knowledge."""
    counts: dict[str, int] = {}
    for r in results:
        if r["cell"]["student"] != "llm":
            continue
        held = r.get("knowledge") or {}
        for kind in r["cell"]["formats"]:
            if kind in ("pattern", "rule", "thought") and kind in held:
                counts[kind] = max(counts.get(kind, 0), int(held[kind]))
    empty = sorted(kind for kind, n in counts.items() if n == 0)
    # patterns are mined, not written by the teacher: only its kinds are listed as scarce
    held_any = {k: n for k, n in sorted(counts.items()) if n and k in ("rule", "thought")}
    few = any(n < SCARCE_ITEMS for n in held_any.values())
    parts = []
    if empty:
        parts.append(
            f"The teacher produced no {'/'.join(empty)} knowledge, so those cells ran without it: "
            "they measure the prompt scaffold, not the knowledge (the 135M default teacher "
            "cannot write usable rules or thoughts)."
        )
    if few:
        listed = ", ".join(f"{n} {kind}s" for kind, n in held_any.items())
        parts.append(
            f"The teacher's KB holds {listed} (the 135M default teacher writes few usable ones): "
            f"a kind with under {SCARCE_ITEMS} items barely changes a session's prompt, so its "
            "cells mostly measure the prompt scaffold, not the knowledge."
        )
    return " ".join(parts)


def _format(results: Sequence[dict[str, Any]], domains: Sequence[str]) -> str:
    metric = headline(results, domains)
    parts = []
    for student in ("tool", "llm"):
        mine = [r for r in results if r["cell"]["student"] == student]
        for domain in domains if mine else ():
            parts += _best_in(mine, domain, metric, f"{student} / **{domain}**: ")
    scarce = _scarce_knowledge(results)
    if scarce:
        parts.append(scarce)
    parts.append("The study found mixed formats best.")
    if any(r["cell"]["student"] == "tool" for r in results):
        parts.append(_tool_ablation(results, domains, metric))
        parts.append(_pairs_fallback(results))
    llm = [r for r in results if r["cell"]["student"] == "llm"]
    if llm:
        parts.append(_llm_vs_floor(llm, domains, metric))
    parts.append(_older(metric))
    return " ".join(p for p in parts if p)


def _llm_vs_floor(results: Sequence[dict[str, Any]], domains: Sequence[str], metric: str) -> str:
    above = total = 0
    for result in results:
        for domain in domains:
            mine = value(arm_row(result, domain), metric)
            floor = value(row_of(result, domain, "pair floor"), metric)
            if mine is None or floor is None:
                continue
            total += 1
            above += mine > floor
    return (
        f"LLM student: {above} of {total} (cell, domain) results beat the pair floor of the "
        f"same sessions on {metric_name(metric)}. With a 135M student on a small seeded sample the "
        "differences between formats are within noise; the study's ordering of formats needs a "
        "larger student (the same grid runs on a GPU box without `sample`)."
    )


#: the ablation's named cells: feature groups -> name (the full set is added at call time)
_ABLATION = {(): "none", ("cosine", "position", "tokens"): "no memory"}


def _tool_ablation(results: Sequence[dict[str, Any]], domains: Sequence[str], metric: str) -> str:
    """Test headline (and strict P) of 'none', 'no memory' (cosine/position/tokens) and 'all'
    per domain, then what the scorer's weights and the distilled knowledge each add."""
    from bundlekd.app.study.grid import ALL_TOOL_FEATURES

    named = {**_ABLATION, ALL_TOOL_FEATURES: "all"}
    rows, gains = [], []
    for domain in domains:
        found: dict[str, tuple[float, float]] = {}
        for result, head in scored(results, domain, metric):
            label = named.get(tuple(result["cell"]["formats"]))
            if label and result["cell"]["student"] == "tool":
                found[label] = (head, float((arm_row(result, domain) or {})["precision"]))
        if not found:
            continue
        rows.append(
            f"{domain} " + ", ".join(f"{k} {v[0]:.3f} ({v[1]:.3f})" for k, v in found.items())
        )
        steps = (("weights", "none", "no memory"), ("knowledge", "no memory", "all"))
        deltas = [
            f"{what} {found[b][0] - found[a][0]:+.3f}/{found[b][1] - found[a][1]:+.3f}"
            for what, a, b in steps
            if a in found and b in found
        ]
        if deltas:
            gains.append(f"{domain} " + ", ".join(deltas))
    gained = (
        f" Test Δ{metric_name(metric)}/Δstrict P of the scorer's weights (no memory − none) "
        "and of the distilled knowledge at inference (all − no memory): " + "; ".join(gains) + "."
        if gains
        else ""
    )
    return (
        f"Tool ablation, test {metric_name(metric)} (strict P): "
        + "; ".join(rows)
        + "."
        + gained
        + " 'none' is title clustering; 'no memory' is the learned scorer on title-pair "
        "features only (it still learns from the training labels: knowledge in its weights); "
        "'all' adds the exemplar memory, kernel evidence and category patterns (knowledge at "
        "inference). Where 'no memory' is within ~0.02 of 'all' (the noise of "
        f"{_sessions(results)} sessions), the distilled memory adds little beyond what the "
        "scorer's weights already learned."
    )


def _sessions(results: Sequence[dict[str, Any]]) -> int:
    """The fewest report sessions per domain of any cell."""
    return min((r["sessions"] // max(len(r["cell"]["domains"]), 1) for r in results), default=0)


def _utilization(results: Sequence[dict[str, Any]], domains: Sequence[str]) -> str:
    metric = headline(results, domains)
    tool = [r for r in results if r["cell"]["student"] == "tool"]
    llm = [r for r in results if r["cell"]["student"] == "llm"]
    parts = []
    if tool:
        parts.append(_tool_utilization(tool, domains, metric))
    if llm:
        parts.append(_llm_utilization(llm, domains, metric))
    parts.append(_older(metric))
    return " ".join(p for p in parts if p)


def _tool_utilization(
    results: Sequence[dict[str, Any]], domains: Sequence[str], metric: str
) -> str:
    parts = []
    for domain in domains:
        pairs = scored(results, domain, metric)
        if pairs:
            values = ", ".join(f"{r['label']} {v:.3f}" for r, v in pairs)
            parts.append(f"**{domain}** ({metric_name(metric)}): {values}.")
            parts += _best_in(results, domain, metric, "")
    parts.append(
        "The study found SFT+ICL best. Here 'memory' is knowledge at inference (ICL analogue), "
        "'weights' the domain-tuned embedder alone (SFT analogue), 'both' the tuned embedder "
        "inside the learned scorer (SFT+ICL)."
    )
    parts.append(_pairs_fallback(results))
    parts.append(_cross_fitting(results))
    return " ".join(parts)


def _llm_arm(result: dict[str, Any]) -> str:
    """ICL / SFT / SFT+ICL / routed, with zero-shot for ICL without knowledge."""
    cell = result["cell"]
    use = cell["utilization"]
    if use == "icl":
        return "ICL" if cell["formats"] else "zero-shot"
    return {"sft": "SFT", "sft_icl": "SFT+ICL (mixed adapter)", "sft_routed": "SFT routed"}[use]


def _llm_utilization(results: Sequence[dict[str, Any]], domains: Sequence[str], metric: str) -> str:
    """The LLM student's ICL / SFT / SFT+ICL / routed cells against the study's finding."""
    parts = []
    means: dict[str, list[float]] = {}
    for domain in domains:
        values = []
        for result, found in scored(results, domain, metric):
            arm = _llm_arm(result)
            means.setdefault(arm, []).append(found)
            values.append(f"{arm} {found:.3f}")
        if values:
            parts.append(f"LLM / **{domain}** ({metric_name(metric)}): " + ", ".join(values) + ".")
    if not means:
        return "No LLM cell finished."
    avg = {arm: sum(v) / len(v) for arm, v in means.items()}
    order = sorted(avg, key=lambda n: -avg[n])
    parts.append(
        f"Mean {metric_name(metric)} over the domains: "
        + ", ".join(f"{n} {avg[n]:.3f}" for n in order)
        + "."
    )
    mixed, routed = avg.get("SFT+ICL (mixed adapter)"), avg.get("SFT routed")
    others = {n: v for n, v in avg.items() if n != "SFT+ICL (mixed adapter)"}
    if mixed is not None and others:
        rival = max(others, key=others.__getitem__)
        verdict = "holds here" if mixed > others[rival] else "does not hold here"
        parts.append(
            f"The study found SFT+ICL with mixed formats best: that {verdict} on "
            f"{metric_name(metric)} (SFT+ICL {mixed:.3f} against the best other arm, {rival} "
            f"{others[rival]:.3f})."
        )
    if mixed is not None and routed is not None:
        better = "beats" if routed > mixed else "does not beat"
        parts.append(
            f"Routing one adapter per kind {better} the one mixed adapter "
            f"({routed:.3f} vs {mixed:.3f})."
        )
    parts.append(_routing_note(results))
    parts.append(_scale_note(results))
    return " ".join(p for p in parts if p)


def _scale_note(results: Sequence[dict[str, Any]]) -> str:
    """How small the LLM cells are: what a gap between them can mean."""
    per_domain = sorted({n for r in results for n in (r.get("sessions_per_domain") or {}).values()})
    trained = sorted(
        {
            n
            for r in results
            for n in ((r.get("chosen") or {}).get("sft_train_set") or {}).get("value", {}).values()
        }
    )
    size = f"{'/'.join(map(str, per_domain))} test sessions per domain" if per_domain else ""
    data = f", adapters trained on {'/'.join(map(str, trained))} sessions" if trained else ""
    step = (
        f" One session moves a domain's mean by up to {1 / min(per_domain):.2f}, so gaps of "
        "that size are noise;"
        if per_domain
        else ""
    )
    return (
        f"Scale: {size}{data}.{step} the same grid runs on a GPU box with more training data, "
        "more epochs and every test session."
    )


def _routing_note(results: Sequence[dict[str, Any]]) -> str:
    notes = []
    for result in results:
        routing = result.get("routing")
        if not routing:
            continue
        counts = ", ".join(f"{k} {v}" for k, v in sorted(routing.items(), key=lambda kv: -kv[1]))
        knowledge = result.get("knowledge") or {}
        held = ", ".join(f"{k} {knowledge.get(k, 0)}" for k in result["cell"]["formats"])
        scarce = [k for k in result["cell"]["formats"] if knowledge.get(k, 0) < SCARCE_ITEMS]
        notes.append(
            f"Routed sessions per adapter (standardised relevance per kind, calibrated on val "
            f"titles): {counts} (of {result['sessions']}; the KB holds {held} items)."
        )
        if scarce:
            notes.append(
                f"The {'/'.join(scarce)} kind has under {SCARCE_ITEMS} items: its adapter "
                "learned from prompts repeating the same few snippets, and a domain with none "
                "of them never routes a session to it."
            )
    return " ".join(notes)


def _pairs_fallback(results: Sequence[dict[str, Any]]) -> str:
    """Name the learned tool cells whose val choice fell back to the pairs policy in every
    domain: no whole-bundle setting kept their guard rails, so their strict P/uR are subset
    hits of pairs and their GJS is not the whole-bundle decoding's."""
    fell = []
    for result in results:
        chosen = ((result.get("chosen") or {}).get("tool_settings") or {}).get("value") or {}
        if (
            result["cell"]["student"] == "tool"
            and result["cell"]["formats"]
            and isinstance(chosen, dict)
            and chosen
            and all(isinstance(s, dict) and s.get("policy") == "pairs" for s in chosen.values())
        ):
            fell.append(result)
    if not fell:
        return ""
    tuned = any(r["cell"].get("utilization") in ("weights", "both") for r in fell)
    return (
        f"Val chose the pairs policy for {'; '.join(table_label(r) for r in fell)}: no "
        "whole-bundle setting kept the val guard rails against the cell's clustering bar"
        + (
            " (for a tuned-embedder cell, clustering on the tuned embedder: a higher bar)"
            if tuned
            else ""
        )
        + ", so those cells' strict P/uR count pairs as subset hits and their GJS is not the "
        "whole-bundle decoding's."
    )


def _cross_fitting(results: Sequence[dict[str, Any]]) -> str:
    both = [r for r in results if (r.get("cell") or {}).get("utilization") == "both"]
    folds = {
        ((r.get("chosen") or {}).get("cross_fit") or {}).get("value", {}).get("folds") for r in both
    }
    if both and None not in folds:
        return (
            f"'both' is cross-fitted ({', '.join(str(f) for f in sorted(folds))} folds): each "
            "training row of the scorer is featurised by an embedder tuned without its fold; "
            "val and test use the embedder tuned on all training sessions."
        )
    return (
        "'both' is not cross-fitted in this grid: its training rows see an embedder tuned on "
        "their own sessions, so the memory features look better at fit time than at test "
        "time; read its margin with that in mind, and choose it only on val."
    )
