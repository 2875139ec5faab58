"""`bundlekd demo`: the main job on the embedded sample sessions and the default model."""

from __future__ import annotations

from pathlib import Path

import typer

from bundlekd.cli.common import console, errors_to_exit


def demo_command(
    out: Path = typer.Option(Path("runs/demo"), help="Output folder (re-runs resume)."),
    model: str = typer.Option("smollm2", help="Student and teacher model spec."),
    teacher_sessions: int = typer.Option(
        2, help="Training sessions per domain the teacher distils rules and thoughts from."
    ),
) -> None:
    """Baselines, distillation into a FAISS KB, the student in 3 modes, one score table."""
    from bundlekd.eval.compare import render_comparison
    from bundlekd.pipeline import run_demo

    with errors_to_exit():
        result = run_demo(
            out,
            model=model,
            teacher_sessions_per_domain=teacher_sessions,
            on_stage=lambda message: console.print(f"[bold cyan]▶[/] {message}"),
        )
    console.print(
        render_comparison(result.rows, "bundlekd demo: sample test sessions (3 domains × 4)")
    )
    timings = ", ".join(f"{name} {secs:.0f}s" for name, secs in result.seconds.items())
    console.print(f"time: {timings}")
    console.print(f"outputs in {result.out_dir} (summary.json, predictions/, eval/, kb/)")
