"""`bundlekd experiment ...`: the study's comparisons as one resumable command each."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from bundlekd.cli.common import (
    check_format,
    console,
    err_console,
    errors_to_exit,
    load_cli_config,
    progress_bar,
    warn,
)

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
                err_console.print(Text.assemble(("▶", "bold cyan"), " ", message))

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


@app.command("arms")
def arms_command(
    kb: Path = typer.Option(..., help="KB with exemplars + grouping tool (and knowledge for icl)."),
    out: Path = typer.Option(..., help="Output folder (predictions/, eval/, summary.json)."),
    arms: str = typer.Option(
        "cluster,cluster_nofallback,tool,agent,few_shot,icl",
        help="cluster, cluster_nofallback, tool, agent, agent_name, agent_hints, agent_edit, "
        "zero_shot, few_shot, icl.",
    ),
    tag: str = typer.Option("", help="Suffix for these arms (e.g. 'tuned' for another KB)."),
    source: str = typer.Option("aicl", help='"aicl" (real split) or "sample".'),
    domain: list[str] = typer.Option(None, help="Domain (repeatable; default all)."),
    split: str = typer.Option("test", help="Split to predict and score."),
    limit: int = typer.Option(None, help="First N sessions only."),
    sample: int = typer.Option(None, help="A seeded random N sessions per domain."),
    model: str = typer.Option(None, help="Student model spec (default smollm2)."),
    data_dir: Path = typer.Option(None, help="Data folder (default $BUNDLEKD_DATA_DIR)."),
    wide: bool = typer.Option(False, "--wide", help="All columns."),
    output_format: str = typer.Option("table", "--format", help="table, markdown, csv, json."),
) -> None:
    """Baselines, the tool, the agent and the study's students on the same sessions."""
    from bundlekd.app.experiments import run_arms_experiment
    from bundlekd.cli.common import print_tables
    from bundlekd.eval.compare import comparison_table

    with errors_to_exit():
        check_format(output_format)
        config = load_cli_config(
            data__source=source,
            data__domains=domain or None,
            data__split=split,
            data__limit=limit,
            data__sample=sample,
            data__dir=data_dir,
            student__model=model,
            kb__dir=kb,
        ).config
        with progress_bar() as bar:
            task = bar.add_task("sessions", total=None)

            def on_progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            def on_stage(message: str) -> None:
                bar.update(task, description=message.split(" on ")[0], completed=0)
                err_console.print(f"▶ {message}", markup=False, style="bold cyan")

            tables = run_arms_experiment(
                config,
                out,
                [a.strip() for a in arms.split(",") if a.strip()],
                tag=tag,
                on_stage=on_stage,
                on_progress=on_progress,
            )
        titled = [
            comparison_table(
                rows, f"{source}/{split}: {name} ({rows[0]['sessions']} sessions)", wide=wide
            )
            for name, rows in tables.items()
        ]
        print_tables(titled, output_format)
