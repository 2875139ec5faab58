"""`bundlekd distill`: sample training sessions, distil knowledge with a teacher, add it to a KB."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bundlekd.cli.common import console, errors_to_exit, progress_bar
from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.knowledge_base.distill.runner import DistillReport


def parse_kinds(value: str) -> list[str]:
    """ "pattern,rule" -> ["pattern", "rule"]; unknown names are a ConfigError."""
    from bundlekd.knowledge_base.store.items import KINDS

    kinds = [k.strip() for k in value.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise ConfigError(f"--kinds: unknown {unknown or value!r}; choose from {', '.join(KINDS)}")
    return kinds


def distill_command(
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge-base folder (created if needed).")],
    source: Annotated[
        str, typer.Option("--source", help='"aicl" (real split), "sample" or a sessions JSONL.')
    ] = "aicl",
    domain: Annotated[
        list[str] | None,
        typer.Option("--domain", help="Domain (repeatable; several = pooled, sampled per domain)."),
    ] = None,
    kinds: Annotated[
        str, typer.Option("--kinds", help="Comma-separated: pattern,rule,thought.")
    ] = "pattern,rule,thought",
    teacher: Annotated[
        str, typer.Option("--teacher", help="Teacher spec: smollm2, hf:PATH, openai:MODEL@URL.")
    ] = "smollm2",
    ratio: Annotated[float, typer.Option("--ratio", help="Fraction of sessions, in (0, 1].")] = 0.1,
    strategy: Annotated[
        str, typer.Option("--strategy", help="random | length | diversity | difficulty.")
    ] = "random",
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Keep at most N sampled sessions.")
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split to distil from.")] = "train",
    force: Annotated[
        bool, typer.Option("--force", help="Allow test sessions for rules/thoughts (leaks!).")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR).")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Teacher requests per generate() call.")
    ] = 64,
    threads: Annotated[
        int | None, typer.Option("--threads", help="CPU threads for a local teacher.")
    ] = None,
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="KB embedder (default: as recorded, minilm).")
    ] = None,
    index: Annotated[
        str | None, typer.Option("--index", help="KB index: faiss | chroma | numpy.")
    ] = None,
) -> None:
    """Distil patterns, rules and thoughts from sampled training sessions into a KB."""
    from bundlekd.data.sampling import sample_sessions
    from bundlekd.data.sources import load_sessions
    from bundlekd.knowledge_base.distill.runner import distill
    from bundlekd.knowledge_base.kb import KnowledgeBase

    started = time.perf_counter()
    with errors_to_exit():
        chosen_kinds = parse_kinds(kinds)
        if limit is not None and limit < 1:
            raise ConfigError(f"--limit must be >= 1, got {limit}")
        sessions = load_sessions(source, domains=domain or None, split=split, data_dir=data_dir)
        sampled = sample_sessions(sessions, ratio, strategy, seed)[:limit]
        if not sampled:
            raise ConfigError(f"no {split} sessions in {source} (domains {domain or 'all'})")
        llm = None
        if {"rule", "thought"} & set(chosen_kinds):
            from bundlekd.cli.generate import load_llm

            llm = load_llm(teacher, threads=threads, batch_size=8)
        knowledge_base = KnowledgeBase.create(kb, embedder=embedder, index=index)
        with progress_bar() as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            report = distill(
                sampled,
                kinds=chosen_kinds,
                teacher=llm,
                kb_dir=kb,
                kb=knowledge_base,
                force=force,
                chunk_size=batch_size,
                progress=progress,
            )
        if llm is not None:
            llm.close()
    console.print(_summary(report, len(sessions), time.perf_counter() - started))


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
    kb_counts = report.summary()["kb_result"]
    if isinstance(kb_counts, dict):
        for key, value in kb_counts.items():
            table.add_row(f"kb {key}", str(value))
    for kind, secs in report.seconds.items():
        table.add_row(f"time {kind}", f"{secs:.1f} s")
    table.add_row("time total", f"{seconds:.1f} s")
    return table
