"""`bundlekd generate`: the student over many sessions, resumable, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bundlekd.cli.common import (
    console,
    errors_to_exit,
    load_cli_config,
    progress_bar,
    warn,
)

# Options shared with `bundlekd chat`. Defaults are None: an option that is not given leaves the
# configured value (defaults < --config < BUNDLEKD_* env) in place.
SourceOpt = Annotated[
    str | None,
    typer.Option("--source", help='"sample" (shipped, default), "aicl" (real split) or a .jsonl.'),
]
DomainOpt = Annotated[
    list[str] | None, typer.Option("--domain", help="Domain (repeatable; default all).")
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR).")
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="Backend: smollm2 (default), hf:PATH, openai:MODEL@URL."),
]
ModeOpt = Annotated[
    str | None,
    typer.Option(
        "--mode", help="tool (default), agent (both need --kb), zero_shot, few_shot or icl."
    ),
]
ExamplesOpt = Annotated[
    int | None, typer.Option("--examples", help="Worked examples (nearest training sessions).")
]
KBOpt = Annotated[Path | None, typer.Option("--kb", help="Knowledge-base folder.")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", help="CPU threads (local model).")]
DeviceOpt = Annotated[
    str | None, typer.Option("--device", help="Local model: auto (default), cpu or cuda.")
]
DtypeOpt = Annotated[
    str | None,
    typer.Option(
        "--dtype",
        help="Local model: auto (default: bf16 only where the CPU/GPU computes it natively, "
        "else float32), bfloat16, float32 or float16.",
    ),
]
EmbedderOpt = Annotated[
    str | None, typer.Option("--embedder", help="minilm (default), hashing or a model folder.")
]
MaxNewTokensOpt = Annotated[
    int | None, typer.Option("--max-new-tokens", help="Generation limit per answer.")
]


def generate_command(
    out: Annotated[Path, typer.Option("--out", help="Predictions JSONL (resumed if present).")],
    sessions: Annotated[
        Path | None, typer.Option("--sessions", help="Sessions JSONL to predict (not --source).")
    ] = None,
    source: SourceOpt = None,
    domain: DomainOpt = None,
    split: Annotated[str | None, typer.Option("--split", help="Split (default test).")] = None,
    data_dir: DataDirOpt = None,
    model: ModelOpt = None,
    mode: ModeOpt = None,
    variant: Annotated[
        str | None,
        typer.Option("--variant", help="Mode agent: name (default) or edit (the LLM edits)."),
    ] = None,
    examples: ExamplesOpt = None,
    kb: KBOpt = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="Knowledge snippets.")] = None,
    knowledge_kinds: Annotated[
        str | None,
        typer.Option(
            "--knowledge-kinds", help="Kinds the prompt may use, comma-separated (icl, agent)."
        ),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Sessions per batch (default 8).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Predict only the first N sessions.")
    ] = None,
    max_new_tokens: MaxNewTokensOpt = None,
    constrained: Annotated[
        bool | None,
        typer.Option("--constrained/--no-constrained", help="JSON-schema constrained decoding."),
    ] = None,
    threads: ThreadsOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    embedder: EmbedderOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Resume --out even if it was started with another configuration."
        ),
    ] = False,
    engine: Annotated[
        str,
        typer.Option("--engine", help="local (this process) or ray (Ray Data; extra [scale])."),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", help="Ray cluster HOST:PORT (default $RAY_ADDRESS, else local)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Ray agent workers (default: the cluster's CPUs)."),
    ] = None,
) -> None:
    """Generate bundles for many sessions; a re-run skips sessions already in --out.

    A backend outage stops the run with exit code 1 and keeps what finished; re-run the same
    command to retry the rest. `--engine ray` runs the agent on a Ray cluster and writes the
    same file (docs/scaling.md).
    """
    from bundlekd.app.generation import run_generation
    from bundlekd.errors import ConfigError

    with errors_to_exit():
        if sessions is not None and source is not None:
            raise ConfigError("give --sessions FILE.jsonl or --source, not both")
        ray = _ray_options(engine, ray_address, workers)
        loaded = load_cli_config(
            data__source=source,
            data__domains=domain or None,
            data__split=split,
            data__dir=data_dir,
            data__limit=limit,
            student__model=model,
            student__threads=threads,
            student__device=device,
            student__dtype=dtype,
            generation__mode=mode,
            generation__variant=variant,
            generation__n_examples=examples,
            generation__top_k=top_k,
            generation__knowledge_kinds=knowledge_kinds.split(",") if knowledge_kinds else None,
            generation__batch_size=batch_size,
            generation__max_new_tokens=max_new_tokens,
            generation__constrained=constrained,
            kb__dir=kb,
            embedder__name=embedder,
        )
        generation = loaded.config.generation
        if kb is not None and not (generation.uses_knowledge or generation.uses_tool):
            mode_name = loaded.config.generation.mode
            raise ConfigError(
                f"--kb is only used with modes that retrieve knowledge, not {mode_name}"
            )
        with progress_bar() as progress:
            task = progress.add_task("generating", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            summary = run_generation(
                loaded, out, sessions_file=sessions, on_progress=advance, force=force, ray=ray
            )
    _print_summary(summary, out)
    for message in summary.warnings:
        warn(message)


def _ray_options(engine: str, address: str | None, workers: int | None):  # type: ignore[no-untyped-def]
    """The Ray options for `--engine ray`; None for the local engine."""
    from bundlekd.errors import ConfigError

    if engine == "local":
        if address is not None or workers is not None:
            raise ConfigError("--ray-address and --workers need --engine ray")
        return None
    if engine != "ray":
        raise ConfigError(f"unknown --engine {engine!r}: valid choices are local, ray")
    from bundlekd.app.ray_engine import RayOptions

    return RayOptions(address=address, workers=workers)


def _print_summary(summary, out: Path) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from bundlekd.agent.runner import manifest_path

    table = Table(title="generate", show_header=False)
    table.add_row("done", str(summary.n_done))
    table.add_row("skipped (already in --out)", str(summary.n_skipped))
    parsed = f"{summary.n_parsed}/{summary.n_done} ({summary.parsed_rate:.1%})"
    table.add_row("parsed output (eval scores validity)", parsed)
    table.add_row("sessions/min", f"{summary.sessions_per_min:.1f}")
    table.add_row("generated tokens", str(summary.tokens))
    table.add_row("elapsed", f"{summary.elapsed:.1f} s")
    console.print(table)
    console.print(f"wrote {out} and {manifest_path(out)}", markup=False)
