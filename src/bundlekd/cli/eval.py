"""`bundlekd eval PREDICTIONS.jsonl --gold SOURCE`: score predictions, print the table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from bundlekd.cli.common import console, errors_to_exit
from bundlekd.errors import ConfigError


def eval_command(
    predictions: Annotated[Path, typer.Argument(help="Predictions JSONL (one line per session).")],
    gold: Annotated[
        str, typer.Option("--gold", help='Gold sessions: "aicl", "sample" or a sessions .jsonl.')
    ],
    domain: Annotated[
        list[str] | None,
        typer.Option("--domain", help="Domain (repeatable; default all)."),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Gold split to score.")] = "test",
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: <predictions stem>.eval/ beside it)."),
    ] = None,
    tau: Annotated[float, typer.Option("--tau", help="Jaccard threshold (J≥τ).")] = 0.5,
    only_predicted: Annotated[
        bool,
        typer.Option(
            "--only-predicted",
            help="Score only gold sessions that have a prediction (partial runs); by default a "
            "missing session counts as invalid output.",
        ),
    ] = False,
) -> None:
    """Score a predictions file against gold sessions; write results.json + samples.jsonl."""
    from bundlekd.data.predictions_jsonl import read_predictions
    from bundlekd.data.sources import load_sessions
    from bundlekd.eval import EvalConfig, evaluate, render_table, write_report
    from bundlekd.files import file_sha256

    with errors_to_exit():
        try:
            cfg = EvalConfig(jaccard_tau=tau, only_predicted=only_predicted)
        except ValidationError as exc:
            raise ConfigError(f"--tau {tau}: must be in (0, 1]") from exc
        preds = read_predictions(predictions)
        sessions = load_sessions(gold, domains=domain or None, split=split, data_dir=data_dir)
        report = evaluate(preds, sessions, cfg)
        report = report.model_copy(
            update={
                "sources": {
                    "predictions": str(predictions),
                    "predictions_sha256": file_sha256(predictions),
                    "gold": gold,
                    "split": split,
                    "domains": ",".join(domain or []) or "all",
                }
            }
        )
        out_dir = out if out is not None else predictions.with_name(f"{predictions.stem}.eval")
        results_path, _ = write_report(report, out_dir)
    console.print(render_table(report))
    console.print(f"wrote {results_path} and {out_dir / 'samples.jsonl'}")
