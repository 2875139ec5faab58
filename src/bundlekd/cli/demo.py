"""`bundlekd demo`: the main job on the embedded sample sessions and the default model."""

from __future__ import annotations

from pathlib import Path

import typer

from bundlekd.cli.common import console, errors_to_exit, progress_bar


def demo_command(
    out: Path = typer.Option(Path("runs/demo"), help="Output folder (re-runs resume)."),
    model: str = typer.Option("smollm2", help="Student and teacher model spec."),
    teacher_sessions: int = typer.Option(
        1, help="Training sessions per domain the teacher distils rules and thoughts from."
    ),
) -> None:
    """Baselines, distillation into a FAISS KB, the student in 3 modes, one score table."""
    from bundlekd.eval.compare import render_comparison
    from bundlekd.pipeline import run_demo

    with errors_to_exit(), progress_bar() as bar:
        task = bar.add_task("student", total=None, visible=False)

        def on_stage(message: str) -> None:
            bar.update(task, visible=False, completed=0)
            console.print(f"[bold cyan]▶[/] {message}")

        def on_progress(done: int, total: int) -> None:
            bar.update(task, visible=True, completed=done, total=total)

        result = run_demo(
            out,
            model=model,
            teacher_sessions_per_domain=teacher_sessions,
            on_stage=on_stage,
            on_progress=on_progress,
        )
    console.print(
        render_comparison(result.rows, "bundlekd demo: sample test sessions (3 domains × 4)")
    )
    timings = ", ".join(f"{name} {secs:.0f}s" for name, secs in result.seconds.items())
    console.print(f"time: {timings}")
    console.print(f"outputs in {result.out_dir} (summary.json, predictions/, eval/, kb/)")
