"""`bundlekd experiment ...`: the study's comparisons as one resumable command each."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from bundlekd.cli.common import console, errors_to_exit, load_cli_config, progress_bar, warn

app = typer.Typer(help="Reproduce the study's experiments.", no_args_is_help=True)


@app.command("icl-kinds")
def icl_kinds(
    kb: Path = typer.Option(..., help="Knowledge base distilled from the training split."),
    out: Path = typer.Option(..., help="Output folder (predictions/, eval/, summary.json)."),
    source: str = typer.Option("aicl", help='"aicl" (real split) or "sample".'),
    domain: str = typer.Option("electronic", help="Domain to evaluate on."),
    split: str = typer.Option("test", help="Split to evaluate on."),
    limit: int = typer.Option(0, help="First N sessions only (0 = all)."),
    model: str = typer.Option(None, help="Student model spec (default smollm2)."),
    arms: str = typer.Option(
        "zero_shot,few_shot,icl_pattern,icl_rule,icl_thought,icl_all", help="Arms to run."
    ),
    top_k: int = typer.Option(3, help="Knowledge snippets per prompt."),
    batch_size: int = typer.Option(8, help="Sessions per backend call."),
    data_dir: Path = typer.Option(None, help="Data folder (default $BUNDLEKD_DATA_DIR)."),
) -> None:
    """Zero-shot vs few-shot vs ICL with each knowledge kind and all kinds, same sessions."""
    from bundlekd.app.experiments import run_icl_kinds_experiment
    from bundlekd.data.sources import load_sessions
    from bundlekd.eval.compare import render_comparison

    with errors_to_exit():
        config = load_cli_config(student__model=model, data__dir=data_dir).config
        model = config.student.model
        chosen_dir = config.data.dir
        sessions = load_sessions(source, domains=[domain], split=split, data_dir=chosen_dir)
        train = load_sessions(source, domains=[domain], split="train", data_dir=chosen_dir)
        if limit:
            sessions = sessions[:limit]
        with progress_bar() as bar:
            task = bar.add_task("sessions", total=None)

            def on_progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            def on_stage(message: str) -> None:
                bar.update(task, description=message.split(":")[0], completed=0)
                console.print(Text.assemble(("▶", "bold cyan"), " ", message))

            rows = run_icl_kinds_experiment(
                sessions,
                train,
                kb_dir=kb,
                out_dir=out,
                model=model,
                arms=[a.strip() for a in arms.split(",") if a.strip()],
                top_k=top_k,
                batch_size=batch_size,
                on_stage=on_stage,
                on_progress=on_progress,
            )
    title = f"knowledge formats: {source}/{domain}/{split} ({len(sessions)} sessions, {model})"
    console.print(render_comparison(rows, title))
    for row in rows:
        if row.get("note"):
            warn(f"{row['method']}: {row['note']}")
