"""`bundlekd experiment ...`: the study's comparisons as one resumable command each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    from bundlekd.app.comparison import render_comparison
    from bundlekd.app.experiments import run_icl_kinds_experiment
    from bundlekd.data.sources import load_sessions

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
    from bundlekd.app.comparison import comparison_table
    from bundlekd.app.experiments import run_arms_experiment
    from bundlekd.cli.common import print_tables

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


@app.command("run")
def run_command(
    grid: Path = typer.Argument(..., help="Grid file (configs/rq1_format.yaml, ...)."),
    out: Path = typer.Option(..., help="Output folder: artifacts/, cells/, study.json."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells and their cost."),
    sample: int = typer.Option(None, help="A seeded N report sessions per domain (llm cells)."),
    data_dir: Path = typer.Option(None, help="Data folder (default $BUNDLEKD_DATA_DIR)."),
    artifacts: Path = typer.Option(
        None, help="Where artifacts/ lives, to share it between grids (default OUT)."
    ),
) -> None:
    """Run a grid of cells (student x formats x quantity x utilization x model x seed),
    resumable per cell: fit on train, choose on val, report on test."""
    from bundlekd.app.study.grid import load_study, with_sample
    from bundlekd.app.study.runner import load_splits, plan, preflight, run_study

    with errors_to_exit():
        study = with_sample(load_study(grid), sample)
        chosen_dir = data_dir or load_cli_config(data__dir=None).config.data.dir
        preflight(study, out)  # what the run refuses, the dry run refuses, before any work
        if dry_run:
            planned = plan(study, out, load_splits(study, chosen_dir))
            for item in planned:
                state = "done" if item.done else f"~{item.estimate_s / 60:.1f} min"
                console.print(f"{item.cell.cell_id:<70} {state}")
            left = sum(p.estimate_s for p in planned if not p.done)
            todo = sum(not p.done for p in planned)
            console.print(f"{len(planned)} cells, {todo} to run, about {left / 60:.0f} min")
            return
        with progress_bar() as bar:
            cells = bar.add_task("cells", total=None)
            sessions = bar.add_task("sessions", total=None)

            def on_cell(index: int, total: int, item: Any) -> None:
                bar.update(cells, completed=index, total=total, description=f"cell {index + 1}")

            def on_progress(done: int, total: int) -> None:
                bar.update(sessions, completed=done, total=total)

            def on_stage(message: str) -> None:
                bar.update(sessions, description=message[:60], completed=0)
                err_console.print(f"▶ {message}", markup=False, style="bold cyan")

            results = run_study(
                study,
                out,
                data_dir=chosen_dir,
                artifacts=artifacts,
                on_cell=on_cell,
                on_stage=on_stage,
                on_progress=on_progress,
            )
            bar.update(cells, completed=len(results))
    console.print(f"{len(results)} cells in {out}; report: bundlekd experiment report {out}")


@app.command("report")
def report_command(
    runs: list[Path] = typer.Argument(..., help="Output folders of `experiment run`."),
    out: Path = typer.Option(
        Path("runs/report"),
        help="Where the markdown and plots go (the published study: --out docs/results).",
    ),
) -> None:
    """Markdown tables and PNG plots of finished grids (per question, per domain, with cost)."""
    from bundlekd.app.study.report import write_study_report

    with errors_to_exit():
        path = write_study_report(runs, out)
    console.print(f"report: {path}")


@app.command("utility")
def utility_command(
    cell: Path = typer.Argument(..., help="A finished cell folder (RUN/cells/<cell_id>)."),
    top: int = typer.Option(10, help="Items listed at each end."),
    min_sessions: int = typer.Option(2, help="Only items used in at least N sessions."),
) -> None:
    """The most helpful and most harmful knowledge items of a cell, credited from its
    per-session scores (a correlation; prune only on val)."""
    import yaml

    from bundlekd.app.study.cells import read_result
    from bundlekd.app.study.utility import knowledge_utility, utility_report
    from bundlekd.knowledge_base.kb import KnowledgeBase

    with errors_to_exit():
        arm = read_result(cell / "result.json")["arm"]
        ranked = knowledge_utility(
            cell / "predictions" / f"{arm}.jsonl",
            cell / "eval" / arm / "samples.jsonl",
            min_sessions=min_sessions,
        )
        config = yaml.safe_load((cell / "config.yaml").read_text(encoding="utf-8"))
        kb = KnowledgeBase.open(config["kb"]["dir"], read_only=True)
        texts = {item.id: f"{item.kind}: {item.text}" for item in kb.items()}
    for line in utility_report(ranked, texts, top=top, min_sessions=min_sessions):
        console.print(line)
