"""Side-by-side comparison of several methods scored on the same gold sessions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

from bundlekd.eval.evaluator import OVERALL, EvalReport
from bundlekd.eval.metrics import HEADLINE, REFERENCE

FLOOR_NAME = "pair floor"


def comparison_rows(
    reports: Mapping[str, EvalReport], domain: str = OVERALL
) -> list[dict[str, Any]]:
    """One row per method (plus the pair floor once): headline metrics first, then aicl-2024."""
    rows: list[dict[str, Any]] = []
    floor_row: dict[str, Any] | None = None
    for name, report in reports.items():
        group = report.group(domain)
        rows.append(_row(name, group.n_sessions, group.method))
        if floor_row is None and group.floor is not None:
            floor_row = _row(FLOOR_NAME, group.n_sessions, group.floor)
    if floor_row is not None:
        rows.insert(0, floor_row)
    return rows


def _row(name: str, n_sessions: int, aggregates: Mapping[str, Any]) -> dict[str, Any]:
    head, ref = aggregates[HEADLINE], aggregates[REFERENCE]
    return {
        "method": name,
        "sessions": n_sessions,
        "precision": head.precision,
        "recall": head.recall,
        "coverage": head.coverage,
        "valid_rate": head.valid_output_rate,
        "aicl2024_precision": ref.precision,
        "aicl2024_recall": ref.recall,
        "aicl2024_coverage": ref.coverage,
        "aicl_sessions_kept": ref.n_sessions,
    }


def render_comparison(rows: list[dict[str, Any]], title: str) -> Table:
    """A rich table of `comparison_rows` output."""
    table = Table(
        title=title,
        caption=f"P/R/Cov/valid = {HEADLINE} (headline); 'a24' = {REFERENCE} as published; "
        "pair floor = products 1+2 as one bundle",
    )
    columns = [
        ("method", "method"),
        ("sessions", "n"),
        ("precision", "P"),
        ("recall", "R"),
        ("coverage", "Cov"),
        ("valid_rate", "valid"),
        ("aicl2024_precision", "P a24"),
        ("aicl2024_recall", "R a24"),
        ("aicl2024_coverage", "Cov a24"),
        ("aicl_sessions_kept", "n a24"),
    ]
    for key, header in columns:
        if key == "method":
            table.add_column(header, no_wrap=True)
        else:
            table.add_column(header, justify="right")
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row[key]
            cells.append(f"{value:.3f}" if isinstance(value, float) else str(value))
        table.add_row(*cells, style="dim" if row["method"] == FLOOR_NAME else None)
    return table
