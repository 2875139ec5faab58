"""`bundlekd eval PREDICTIONS.jsonl --gold SOURCE`: score predictions, print the table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bundlekd.cli.common import (
    check_format,
    err_console,
    errors_to_exit,
    load_cli_config,
    print_tables,
    warn,
)


def eval_command(
    predictions: Annotated[Path, typer.Argument(help="Predictions JSONL (one line per session).")],
    gold: Annotated[
        str, typer.Option("--gold", help='Gold sessions: "aicl", "sample" or a sessions .jsonl.')
    ],
    domain: Annotated[
        list[str] | None,
        typer.Option("--domain", help="Domain (repeatable; default all)."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="Gold split (default: test for aicl/sample, a file whole)."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: <predictions stem>.eval/ beside it)."),
    ] = None,
    tau: Annotated[float | None, typer.Option("--tau", help="Jaccard threshold (J≥τ).")] = None,
    only_predicted: Annotated[
        bool,
        typer.Option(
            "--only-predicted",
            help="Score only gold sessions that have a prediction (partial runs); by default a "
            "missing session counts as invalid output.",
        ),
    ] = False,
    intents: Annotated[
        bool,
        typer.Option(
            "--intents/--no-intents",
            help="Score hit intents against GT intents (embedding cosine, ROUGE-L).",
        ),
    ] = True,
    judge: Annotated[
        str | None, typer.Option("--judge", help="LLM spec that also judges intents (yes/no).")
    ] = None,
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="Intent embedder (default minilm).")
    ] = None,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help="All columns (aicl-2024, pair P/R, BCubed, Jaccard, FP) and the bundle-size "
            "histogram of predictions vs gold.",
        ),
    ] = False,
    output_format: Annotated[
        str, typer.Option("--format", help="table (terminal), markdown, csv or json.")
    ] = "table",
) -> None:
    """Score a predictions file against gold sessions; write results.json + samples.jsonl."""
    from bundlekd.app.evaluation import run_evaluation
    from bundlekd.eval.report import report_table, size_histogram_table

    with errors_to_exit():
        check_format(output_format)
        config = load_cli_config(
            data__domains=domain or None,
            data__dir=data_dir,
            eval__jaccard_tau=tau,
            eval__only_predicted=only_predicted or None,
            embedder__name=embedder,
        ).config
        run = run_evaluation(
            config, predictions, gold, split=split, out_dir=out, intents=intents, judge=judge
        )
        tables = [report_table(run.report, wide=wide)]
        if wide:
            tables.append(size_histogram_table(run.report))
        print_tables(tables, output_format)
    for message in run.warnings:
        warn(message)
    err_console.print(f"wrote {run.results_path} and {run.samples_path}", markup=False)
