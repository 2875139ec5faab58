"""Result tables as data, rendered for a terminal (rich, fits 80 columns), Markdown, CSV or JSON.

Every table people read (eval, comparisons, the demo, experiments) is built as a `TableData`
first, so the same numbers reach a terminal, a pipe or a file without re-formatting by hand.
The terminal form uses a borderless box and short numeric columns that never shrink, so an
80-column terminal shows whole numbers instead of `0.5…`; long labels wrap instead.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bundlekd.sanitize import printable

TableFormat = Literal["table", "markdown", "csv", "json"]
FORMATS: tuple[str, ...] = ("table", "markdown", "csv", "json")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    numeric: bool = True


@dataclass(slots=True)
class TableData:
    """Rows of dicts keyed by column key; `dim` marks reference rows (the pair floor)."""

    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    caption: str = ""
    dim: set[int] = field(default_factory=set)
    section_ends: set[int] = field(default_factory=set)

    def add(self, row: dict[str, Any], *, dim: bool = False, end_section: bool = False) -> None:
        if dim:
            self.dim.add(len(self.rows))
        if end_section:
            self.section_ends.add(len(self.rows))
        self.rows.append(row)


def cell(value: Any) -> str:
    """Numbers with 3 decimals, None as an en dash, everything else as printable text."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return printable(str(value))  # labels may quote data or model text


def to_rich(table: TableData):  # type: ignore[no-untyped-def]
    """A rich Table that stays readable at 80 columns (labels fold, numbers never shrink)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    rendered = Table(
        title=Text(printable(table.title)),
        caption=Text(printable(table.caption)) if table.caption else None,
        box=box.SIMPLE_HEAD,
        min_width=min(len(table.title) + 2, 80),  # a long title must not fold inside a narrow table
        pad_edge=False,
        collapse_padding=True,
        padding=(0, 0),  # the box's one-space separator is the gap: 10 numeric columns fit 80
    )
    for column in table.columns:
        if column.numeric:
            rendered.add_column(column.header, justify="right", no_wrap=True)
        else:
            rendered.add_column(column.header, overflow="fold")
    for index, row in enumerate(table.rows):
        # Text, not str: labels may hold "[...]" that rich would read as markup.
        rendered.add_row(
            *(Text(cell(row.get(c.key))) for c in table.columns),
            style="dim" if index in table.dim else None,
            end_section=index in table.section_ends,
        )
    return rendered


def to_markdown(table: TableData) -> str:
    headers = [c.header for c in table.columns]
    lines = [f"**{printable(table.title)}**", "", "| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---:" if c.numeric else "---" for c in table.columns) + "|")
    for row in table.rows:
        values = [cell(row.get(c.key)).replace("|", "\\|") for c in table.columns]
        lines.append("| " + " | ".join(values) + " |")
    if table.caption:
        lines += ["", printable(table.caption)]
    return "\n".join(lines) + "\n"


def to_csv(table: TableData) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(row.get(c.key)) for c in table.columns])
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    return printable(value) if isinstance(value, str) else value


def to_json(table: TableData) -> str:
    keys = [c.key for c in table.columns]
    rows = [{k: row.get(k) for k in keys} for row in table.rows]
    return (
        json.dumps({"title": table.title, "rows": rows, "caption": table.caption}, indent=2) + "\n"
    )


def render_text(table: TableData, fmt: str) -> str:
    """Markdown, CSV or JSON text (the terminal form is `to_rich`)."""
    if fmt == "markdown":
        return to_markdown(table)
    if fmt == "csv":
        return to_csv(table)
    if fmt == "json":
        return to_json(table)
    raise ValueError(f"unknown table format {fmt!r}; choose from {', '.join(FORMATS)}")


def render_many(tables: Sequence[TableData], fmt: str) -> str:
    """Several tables (one per domain, then overall) as ONE markdown, CSV or JSON document.

    One table renders as `render_text` does. Several: JSON nests them (`{"tables": [...]}`);
    CSV has one header, the union of the columns after a first `table` column (the title);
    Markdown puts the tables one after the other.
    """
    if len(tables) == 1:
        return render_text(tables[0], fmt)
    if fmt == "markdown":
        return "\n".join(to_markdown(t) for t in tables)
    if fmt == "json":
        nested = [json.loads(to_json(t)) for t in tables]
        return json.dumps({"tables": nested}, indent=2) + "\n"
    if fmt == "csv":
        keys: list[str] = []
        for table in tables:
            keys += [c.key for c in table.columns if c.key not in keys]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["table", *keys])
        for table in tables:
            for row in table.rows:
                writer.writerow([printable(table.title), *(_csv_value(row.get(k)) for k in keys)])
        return buffer.getvalue()
    return render_text(tables[0], fmt)  # raises for an unknown format


def columns(*specs: tuple[str, str] | tuple[str, str, bool]) -> list[Column]:
    """`columns(("method", "method", False), ("precision", "P"))`."""
    return [Column(*spec) for spec in specs]


def select(table: TableData, keys: Sequence[str]) -> TableData:
    """The same table with only these columns (in this order)."""
    chosen = [c for key in keys for c in table.columns if c.key == key]
    return TableData(
        table.title, chosen, table.rows, table.caption, set(table.dim), set(table.section_ends)
    )
