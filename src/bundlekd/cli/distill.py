"""`bundlekd distill`: sample training sessions, distil knowledge with a teacher, add it to a KB."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from bundlekd.cli.common import (
    console,
    errors_to_exit,
    load_cli_config,
    progress_bar,
    stage_progress,
)

if TYPE_CHECKING:
    from bundlekd.knowledge_base.distill.runner import DistillReport


def distill_command(
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge-base folder (created if needed).")],
    source: Annotated[
        str | None, typer.Option("--source", help='"aicl" (real split), "sample" or a .jsonl.')
    ] = None,
    domain: Annotated[
        list[str] | None,
        typer.Option("--domain", help="Domain (repeatable; several = pooled, sampled per domain)."),
    ] = None,
    kinds: Annotated[
        str | None,
        typer.Option(
            "--kinds", help="Comma-separated: pattern,rule,thought,exemplar (default the first 3)."
        ),
    ] = None,
    teacher: Annotated[
        str | None,
        typer.Option("--teacher", help="Teacher spec (default: the student model, smollm2)."),
    ] = None,
    ratio: Annotated[
        float | None,
        typer.Option("--ratio", help="Fraction of the split's sessions, in (0, 1]; default 1."),
    ] = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="random | length | diversity | difficulty.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed.")] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Keep at most N sampled sessions.")
    ] = None,
    split: Annotated[
        str | None, typer.Option("--split", help="Split to distil from (default train).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Allow test sessions for rules/thoughts (leaks!).")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Teacher requests per call (default 64).")
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", help="CPU threads for a local teacher.")
    ] = None,
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="KB embedder (default: as recorded, minilm).")
    ] = None,
    index: Annotated[
        str | None, typer.Option("--index", help="KB index: faiss | chroma | numpy.")
    ] = None,
    tool_embedder: Annotated[
        str | None,
        typer.Option(
            "--tool-embedder", help="Embedder of the grouping tool (exemplar); default the KB's."
        ),
    ] = None,
    tool_scorer: Annotated[
        str | None, typer.Option("--tool-scorer", help="learned (default) or cosine (exemplar).")
    ] = None,
) -> None:
    """Distil patterns, rules and thoughts from sampled training sessions into a KB."""
    from bundlekd.app.distillation import run_distillation

    started = time.perf_counter()
    with errors_to_exit():
        loaded = load_cli_config(
            data__source=source or "aicl",
            data__domains=domain or None,
            data__dir=data_dir,
            distill__kinds=kinds.split(",") if kinds is not None else None,
            distill__ratio=ratio,
            distill__strategy=strategy,
            distill__seed=seed,
            distill__limit=limit,
            distill__split=split,
            teacher__model=teacher,
            teacher__threads=threads,
            teacher__batch_size=batch_size,
            kb__dir=kb,
            kb__index=index,
            kb__tool_embedder=tool_embedder,
            kb__tool_scorer=tool_scorer,
            embedder__name=embedder,
        )
        with progress_bar() as bar:
            progress = stage_progress(bar)

            run = run_distillation(loaded, force=force, progress=progress)
    console.print(_summary(run.report, run.available, time.perf_counter() - started))
    if run.tool is not None:
        scores = run.tool.get("val_scores", {})
        tuned = ", ".join(
            f"{d} P {v['precision']:.3f} R {v['recall']:.3f}" for d, v in sorted(scores.items())
        )
        console.print(f"grouping tool ({run.tool['scorer']}) saved; on val: {tuned}", markup=False)


def _summary(report: DistillReport, available: int, seconds: float) -> Table:
    table = Table(title="distill", show_header=False)
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_row("sessions (sampled / available)", f"{report.sessions} / {available}")
    if report.skipped_no_truth:
        table.add_row("skipped (no ground truth)", str(report.skipped_no_truth))
    for kind, count in report.per_kind.items():
        table.add_row(f"{kind} candidates", str(count))
    if report.thoughts_total:
        rate = report.thought_acceptance or 0.0
        table.add_row(
            "thoughts accepted",
            f"{report.thoughts_accepted} / {report.thoughts_total} ({rate:.0%})",
        )
        for reason, count in sorted(report.thought_rejections.items()):
            table.add_row(f"  rejected: {reason}", str(count))
    if report.rule_sessions or report.rules_raw:
        table.add_row(
            "rules (raw / sessions with rules)", f"{report.rules_raw} / {report.rule_sessions}"
        )
    if report.teacher:
        table.add_row("teacher", report.teacher)
        table.add_row(
            "teacher calls (new / cache hits)", f"{report.teacher_calls} / {report.cache_hits}"
        )
        table.add_row(
            "teacher tokens (prompt / completion)",
            f"{report.teacher_prompt_tokens} / {report.teacher_completion_tokens}",
        )
    kb_counts = report.summary()["kb_result"]
    if isinstance(kb_counts, dict):
        for key, value in kb_counts.items():
            table.add_row(f"kb {key}", str(value))
    for kind, secs in report.seconds.items():
        table.add_row(f"time {kind}", f"{secs:.1f} s")
    table.add_row("time total", f"{seconds:.1f} s")
    return table
