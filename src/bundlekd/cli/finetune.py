"""`bundlekd finetune ...`: knowledge distilled into weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bundlekd.cli.common import console, errors_to_exit, load_cli_config, progress_bar

app = typer.Typer(help="Fine-tune the embedder (and the student).", no_args_is_help=True)


@app.command("embedder")
def embedder_command(
    out: Annotated[Path, typer.Option("--out", help="Output folder (resumes at an epoch).")],
    source: Annotated[
        str, typer.Option("--source", help='"aicl" (real split) or "sample".')
    ] = "aicl",
    domain: Annotated[
        list[str] | None, typer.Option("--domain", help="Domain (repeatable; default all).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR).")
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs; val keeps the best.")] = 2,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Pairs per step.")] = 32,
    max_seq_length: Annotated[int, typer.Option("--max-seq-length", help="Word pieces.")] = 32,
    pairs_per_bundle: Annotated[
        int, typer.Option("--pairs-per-bundle", help="Pairs sampled per training bundle.")
    ] = 2,
    learning_rate: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 5e-5,
    threads: Annotated[int | None, typer.Option("--threads", help="torch threads.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
) -> None:
    """MiniLM fine-tuned on co-bundled training items (MNRL with same-session hard negatives)."""
    from pydantic import ValidationError
    from rich.table import Table

    from bundlekd.app.finetuning import run_embedder_tuning
    from bundlekd.errors import ConfigError
    from bundlekd.finetune.embedder_config import EmbedderTuneConfig

    with errors_to_exit():
        config = load_cli_config(
            data__source=source, data__domains=domain or None, data__dir=data_dir
        ).config
        try:
            tune = EmbedderTuneConfig(
                epochs=epochs,
                batch_size=batch_size,
                max_seq_length=max_seq_length,
                pairs_per_bundle=pairs_per_bundle,
                learning_rate=learning_rate,
                threads=threads,
                seed=seed,
            )
        except ValidationError as exc:
            raise ConfigError(f"invalid option: {exc.errors()[0]['msg']}") from None
        with progress_bar() as bar:
            task = bar.add_task("epoch 1", total=None)

            def progress(epoch: int, step: int, steps: int, loss: float) -> None:
                bar.update(
                    task, description=f"epoch {epoch} loss {loss:.3f}", completed=step, total=steps
                )

            card = run_embedder_tuning(config, out, tune, progress=progress)
    table = Table(title=f"tuned embedder -> {out}")
    for column in ("epoch", "val pair AP", "loss", "CPU s", "wall s"):
        table.add_column(column, justify="right")
    for row in card["epochs"]:
        table.add_row(
            str(row["epoch"]),
            f"{row['val_pair_ap']:.3f}",
            f"{row['loss']:.3f}" if "loss" in row else "–",
            str(row.get("cpu_seconds", "–")),
            str(row.get("wall_seconds", "–")),
        )
    console.print(table)
    console.print(
        f"kept epoch {card['best_epoch']} (best validation pair AP); use --embedder {out}"
    )
