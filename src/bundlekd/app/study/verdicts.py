"""The report's verdicts: cells against the quality target (test) and against today's
default (val), on metrics listed once here.

Switch what "better than the default" means by editing `DEFAULT_CRITERIA` (e.g. whole
bundles first: ``("gjs", "precision", "recall")``), and the target by editing `TARGET`; the
tables' columns follow. A metric a cell did not record (an older tool.json without val GJS)
gives "–", never a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: on val, a cell beats the default when it is not worse in any of these and better in one
#: (whole bundles first since 2026-12: the tool's settings are chosen by val GJS)
DEFAULT_CRITERIA: tuple[str, ...] = ("gjs", "precision", "recall")
#: the quality target on the report split (and coverage at least the bar's): one value for
#: every domain, or {domain: value}. Since 2026-12 the best published whole-bundle numbers on
#: the same test sessions (LLM4BEAR, 70B-class LLMs, exact match; DESIGN.md §3).
TARGET: dict[str, float | dict[str, float]] = {
    "exact_precision": {"electronic": 0.520, "clothing": 0.663, "food": 0.502},
    "exact_recall": {"electronic": 0.445, "clothing": 0.629, "food": 0.508},
    "gjs": {"electronic": 0.618, "clothing": 0.721, "food": 0.648},
}
#: below this many report sessions per domain, one session moves a mean by more than 0.02:
#: the target table says so instead of a verdict
MIN_VERDICT_SESSIONS = 50
SHORT = {
    "precision": "P",
    "recall": "R",
    "coverage": "Cov",
    "exact_precision": "xP",
    "exact_recall": "xR",
    "gjs": "GJS",
    "pair_f1": "pairF1",
    "bcubed_f1": "B3 F",
}
LONG = {
    "precision": "strict P",
    "recall": "strict uniq R",
    "exact_precision": "exact P",
    "exact_recall": "exact R",
    "gjs": "GJS",
    "pair_f1": "pair F1",
    "bcubed_f1": "BCubed F",
}
BAR = "cluster"


def row_of(result: dict[str, Any], domain: str, method: str) -> dict[str, Any] | None:
    for row in result["tables"].get(domain, []):
        if row["method"] == method:
            return row  # type: ignore[no-any-return]
    return None


def table_label(result: dict[str, Any]) -> str:
    """The cell's label, with its domain for a single-domain KB: the grid's labels do not
    name the domain, and a table over every domain would show three identical rows."""
    cell = result.get("cell") or {}
    domains = cell.get("domains") or []
    if cell.get("scope") == "single" and len(domains) == 1:
        return f"{result['label']} ({domains[0]})"
    return str(result["label"])


def val_scores(result: dict[str, Any]) -> dict[str, Any]:
    """{domain: {metric: value}} that chose the cell's grouping settings on val.

    A clustering cell (no feature groups) records only P and R; where they are the val
    clustering bar's of the same cell (its decoding is the bar's), the bar's other metrics
    (GJS, exact P/R...) are its own too and fill the gaps."""
    chosen = result.get("chosen") or {}
    value = (chosen.get("tool_val_scores") or {}).get("value") or {}
    bar = (chosen.get("val_clustering_bar") or {}).get("value") or {}
    if (result.get("cell") or {}).get("formats") != []:
        return dict(value)
    filled = {}
    for domain, scores in value.items():
        same = domain in bar and all(
            abs(scores.get(m, -1.0) - bar[domain].get(m, -2.0)) < 1e-9
            for m in ("precision", "recall")
        )
        filled[domain] = {**bar[domain], **scores} if same else scores
    return filled


def beats(score: dict[str, Any], other: dict[str, Any]) -> bool | None:
    """Not worse in any of `DEFAULT_CRITERIA`, better in one; None when one is unrecorded."""
    if any(score.get(m) is None or other.get(m) is None for m in DEFAULT_CRITERIA):
        return None
    deltas = [score[m] - other[m] for m in DEFAULT_CRITERIA]
    return all(d >= 0 for d in deltas) and sum(deltas) > 0


def val_default_lines(
    results: Sequence[dict[str, Any]], default: dict[str, Any] | None = None
) -> list[str]:
    """Tool cells against today's default (`default`: the learned tool with every feature
    group, all training sessions, pooled), on val only: the smallest margin over the domains
    in each of `DEFAULT_CRITERIA`. Without that cell in the report, against each cell's val
    clustering bar."""
    names = " or ".join(SHORT.get(m, m) for m in DEFAULT_CRITERIA)
    lines = [
        "| cell | "
        + " | ".join(f"min val Δ{SHORT.get(m, m)}" for m in DEFAULT_CRITERIA)
        + f" | not worse in {names}, better in one, in every domain |",
        "|" + "---|" * (len(DEFAULT_CRITERIA) + 2),
    ]
    reference = val_scores(default) if default is not None else {}
    for result in results:
        scores = val_scores(result)
        same_cell = default is not None and result["cell_id"] == default["cell_id"]
        if same_cell and scores == reference:
            continue  # the default itself, also when another grid ran the same cell
        chosen = result.get("chosen", {})
        bar = (
            reference or (chosen.get("val_clustering_bar") or {}).get("value") or _saved_bar(result)
        )
        domains = [d for d in scores if d in bar]
        if not domains or (not reference and result["cell"]["formats"] == []):
            continue
        margins = [_min_margin(scores, bar, domains, m) for m in DEFAULT_CRITERIA]
        verdicts = [beats(scores[d], bar[d]) for d in domains]
        every = len(domains) == len(result["cell"]["domains"])
        if any(v is None for v in verdicts):
            verdict = "– (not recorded)"
        else:
            verdict = "yes" if all(verdicts) and every else "no"
        lines.append(f"| {table_label(result)} | " + " | ".join(margins) + f" | {verdict} |")
    return lines if len(lines) > 2 else []


def _min_margin(
    scores: dict[str, Any], bar: dict[str, Any], domains: Sequence[str], metric: str
) -> str:
    deltas = [
        scores[d][metric] - bar[d][metric]
        for d in domains
        if scores[d].get(metric) is not None and bar[d].get(metric) is not None
    ]
    return f"{min(deltas):+.3f}" if len(deltas) == len(domains) else "–"


def target_lines(results: Sequence[dict[str, Any]], domains: Sequence[str]) -> list[str]:
    """Cells against the quality target (`TARGET` per domain, coverage not below the
    clustering bar's of the same sessions); too few sessions get no verdict."""
    heads = [
        f"{LONG.get(m, m)} (≥ {v:.2f})" if isinstance(v, float) else f"{LONG.get(m, m)} (≥ target)"
        for m, v in TARGET.items()
    ]
    lines = [
        "| cell | domain | sessions | " + " | ".join(heads) + " | coverage (≥ bar) | met |",
        "|" + "---|" * (len(TARGET) + 5),
    ]
    for result in results:
        for domain in domains:
            row, bar = row_of(result, domain, result["arm"]), row_of(result, domain, BAR)
            if row is None or bar is None:
                continue
            values = [row.get(m) for m in TARGET]
            goals = [_goal(m, domain) for m in TARGET]
            met = all(
                v is not None and (g is None or v >= g) for v, g in zip(values, goals, strict=True)
            )
            met = met and row["coverage"] >= bar["coverage"]
            n = int(row.get("sessions") or 0)
            verdict = (
                f"too few sessions ({n} < {MIN_VERDICT_SESSIONS})"
                if n < MIN_VERDICT_SESSIONS
                else ("yes" if met else "no")
            )
            shown = " | ".join(
                ("–" if v is None else f"{v:.3f}")
                + ("" if isinstance(TARGET[m], float) or g is None else f" (≥ {g:.3f})")
                for m, v, g in zip(TARGET, values, goals, strict=True)
            )
            lines.append(
                f"| {result['label']} | {domain} | {n} | {shown} "
                f"| {row['coverage']:.3f} (bar {bar['coverage']:.3f}) | {verdict} |"
            )
    return lines if len(lines) > 2 else []


def _goal(metric: str, domain: str) -> float | None:
    """The target of `metric` in `domain` (None: a per-domain target without this domain)."""
    goal = TARGET[metric]
    return goal if isinstance(goal, float) else goal.get(domain)


def settings_of(spec: dict[str, Any]) -> str:
    shown = {**spec.get("base", {})}
    for key in ("tool_coverage_floor", "cross_fit_folds"):
        if key in spec:
            shown[key] = spec[key]
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "defaults"


def default_settings(spec: dict[str, Any]) -> bool:
    """Whether a grid runs with the project's default settings (no base overrides, no
    coverage floor): only there is the default-looking cell today's default."""
    return not spec.get("base") and not spec.get("tool_coverage_floor")


def is_default_cell(result: dict[str, Any]) -> bool:
    """The default mode: the tool with every feature group, all training sessions (random),
    one pooled KB, knowledge at inference."""
    from bundlekd.app.study.grid import ALL_TOOL_FEATURES

    cell = result["cell"]
    return (
        cell["student"] == "tool"
        and tuple(cell["formats"]) == ALL_TOOL_FEATURES
        and cell["ratio"] == 1.0
        and cell["scope"] == "pooled"
        and cell["utilization"] == "memory"
        and cell["strategy"] == "random"
    )


def _saved_bar(result: dict[str, Any]) -> dict[str, Any]:
    """The val clustering bar from the cell's KB (results written before cells recorded it)."""
    folder = (result.get("artifacts", {}).get("kb") or {}).get("dir")
    path = Path(folder) / "tool" / "tool.json" if folder else None
    if path is None or not path.is_file():
        return {}
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # an unreadable old record: no bar to compare with
    return dict((saved.get("metadata") or {}).get("val_clustering_bar") or {})
