"""`bundlekd data ...`: dataset statistics, validation and export (thin wrappers)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from bundlekd.cli.common import console, errors_to_exit, fail, styled

app = typer.Typer(help="Inspect, validate and export session datasets.", no_args_is_help=True)

DATA_DIR_OPTION = typer.Option(
    None, "--data-dir", help="Real-data folder (default: $BUNDLEKD_DATA_DIR)."
)


@app.command()
def stats(
    directory: Path | None = typer.Argument(
        None, help="Data folder (same as --data-dir; default $BUNDLEKD_DATA_DIR)."
    ),
    data_dir: Path | None = DATA_DIR_OPTION,
    source: str | None = typer.Option(
        None, "--source", help="aicl or bundlerec (default: both tables)."
    ),
    domain: list[str] | None = typer.Option(
        None, "--domain", help="Domain(s) to show (repeatable; default: all)."
    ),
) -> None:
    """Print the dataset counts of ../shared/data/bundles/README.md, one column per domain."""
    from bundlekd.data.sources import resolve_data_dir
    from bundlekd.data.stats import compute_stats

    with errors_to_exit():
        folder = resolve_data_dir(directory or data_dir)
        sources = [source] if source else ["bundlerec", "aicl"]
        for name in sources:
            per_domain = compute_stats(folder, name, domain or None)
            title = "Raw BundleRec release" if name == "bundlerec" else "AICL split"
            table = Table(title=f"{title} ({folder})")
            table.add_column("count")
            for entry in per_domain:
                table.add_column(entry.domain, justify="right")
            labels = [label for label, _ in per_domain[0].rows()]
            columns = [dict(entry.rows()) for entry in per_domain]
            for label in labels:
                table.add_row(label, *(column[label] for column in columns))
            console.print(table)


@app.command()
def validate(
    path: Path = typer.Argument(..., help="Sessions JSONL file to check."),
) -> None:
    """Check every line of a sessions JSONL file; exit 1 if any line is invalid."""
    from bundlekd.data.validate import validate_sessions_file

    with errors_to_exit():
        report = validate_sessions_file(path)
    table = Table(title=f"{path}")
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_row("sessions", str(report.sessions))
    table.add_row("items", str(report.items))
    table.add_row("bundles", str(report.bundles))
    table.add_row("domains", ", ".join(f"{k}={v}" for k, v in sorted(report.by_domain.items())))
    table.add_row("splits", ", ".join(f"{k}={v}" for k, v in sorted(report.by_split.items())))
    table.add_row("errors", str(len(report.errors)))
    table.add_row("warnings", str(len(report.warnings)))
    console.print(table)
    for message in report.warnings:
        console.print(styled("yellow", "warning:", message), highlight=False)
    for message in report.errors:
        console.print(styled("red", "error:", message), highlight=False)
    if not report.ok:
        raise fail(f"{path}: {len(report.errors)} invalid line(s)")
    console.print(styled("green", "ok", str(path)))


@app.command()
def export(
    out: Path = typer.Option(..., "--out", help="Sessions JSONL file to write."),
    source: str = typer.Option("aicl", "--source", help="aicl, sample, or a sessions .jsonl path."),
    domain: list[str] | None = typer.Option(None, "--domain", help="Domain(s) (repeatable)."),
    split: str = typer.Option("all", "--split", help="train, val, test or all."),
    data_dir: Path | None = DATA_DIR_OPTION,
    public: bool = typer.Option(
        False, "--public", help="Write the inference view: titles only, no bundles or categories."
    ),
) -> None:
    """Write sessions of one source/domain/split as sessions JSONL."""
    from bundlekd.data.sessions_jsonl import write_sessions
    from bundlekd.data.sources import load_sessions

    with errors_to_exit():
        sessions = load_sessions(source, domains=domain or None, split=split, data_dir=data_dir)
        if public:
            sessions = [s.public() for s in sessions]
        count = write_sessions(out, sessions)
    console.print(f"wrote {count} sessions to {out}")
