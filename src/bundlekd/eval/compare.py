"""Side-by-side comparison of several methods scored on the same gold sessions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bundlekd.eval.evaluator import OVERALL, EvalReport
from bundlekd.eval.metrics import HEADLINE, REFERENCE
from bundlekd.eval.tables import Column, TableData, to_rich

FLOOR_NAME = "pair floor"


def comparison_rows(
    reports: Mapping[str, EvalReport], domain: str = OVERALL
) -> list[dict[str, Any]]:
    """One row per method (plus the pair floor once): headline metrics first, then aicl-2024."""
    rows: list[dict[str, Any]] = []
    floor_row: dict[str, Any] | None = None
    for name, report in reports.items():
        group = report.group(domain)
        rows.append(_row(name, group.n_sessions, group.method, group.intents))
        if floor_row is None and group.floor is not None:
            floor_row = _row(FLOOR_NAME, group.n_sessions, group.floor)
    if floor_row is not None:
        rows.insert(0, floor_row)
    return rows


def _row(
    name: str, n_sessions: int, aggregates: Mapping[str, Any], intents: Any = None
) -> dict[str, Any]:
    head, ref = aggregates[HEADLINE], aggregates[REFERENCE]
    return {
        "method": name,
        "sessions": n_sessions,
        "precision": head.precision,
        "recall": head.recall,
        "coverage": head.coverage,
        "valid_rate": head.valid_output_rate,
        "intent_cosine": intents.cosine if intents is not None else None,
        "intent_rouge_l": intents.rouge_l if intents is not None else None,
        "aicl2024_precision": ref.precision,
        "aicl2024_recall": ref.recall,
        "aicl2024_coverage": ref.coverage,
        "aicl_sessions_kept": ref.n_sessions,
    }


COMPACT = ("method", "sessions", "precision", "recall", "coverage", "valid_rate", "intent_cosine")
WIDE_EXTRA = (
    "intent_rouge_l",
    "aicl2024_precision",
    "aicl2024_recall",
    "aicl2024_coverage",
    "aicl_sessions_kept",
    "sessions_per_min",
)
_HEADERS = {
    "method": ("method", False),
    "sessions": ("n", True),
    "precision": ("P", True),
    "recall": ("R", True),
    "coverage": ("Cov", True),
    "valid_rate": ("valid", True),
    "intent_cosine": ("intent", True),
    "intent_rouge_l": ("int RL", True),
    "aicl2024_precision": ("P a24", True),
    "aicl2024_recall": ("R a24", True),
    "aicl2024_coverage": ("Cov a24", True),
    "aicl_sessions_kept": ("n a24", True),
    "sessions_per_min": ("sess/min", True),
}


def comparison_table(rows: list[dict[str, Any]], title: str, *, wide: bool = False) -> TableData:
    """`comparison_rows` output as a table: headline columns, the rest with `wide`.

    Columns that are empty in every row (e.g. intent similarity when nothing was scored) are
    left out.
    """
    keys = [*COMPACT, *(WIDE_EXTRA if wide else ())]
    keys = [k for k in keys if k == "method" or any(r.get(k) is not None for r in rows)]
    notes = [f"{row['method']}: {row['note']}" for row in rows if row.get("note")]
    table = TableData(
        title=title,
        columns=[Column(k, *_HEADERS[k]) for k in keys],
        caption=f"P/R/Cov/valid: {HEADLINE} (the headline); intent: cosine of predicted vs GT "
        "intent on hit bundles; pair floor: products 1+2 as one bundle"
        + (f"; a24: {REFERENCE}, as published" if wide else "")
        + "".join(f"; {note}" for note in notes),
    )
    for row in rows:
        table.add(row, dim=row["method"] == FLOOR_NAME)
    return table


def render_comparison(rows: list[dict[str, Any]], title: str, *, wide: bool = False):  # type: ignore[no-untyped-def]
    """A rich table of `comparison_rows` output (see `comparison_table`)."""
    return to_rich(comparison_table(rows, title, wide=wide))
