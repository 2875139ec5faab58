"""`bundlekd demo`: the main job on the embedded sample sessions and the default model."""

from __future__ import annotations

from pathlib import Path

import typer

from bundlekd.cli.common import console, errors_to_exit, load_cli_config, progress_bar


def demo_command(
    out: Path = typer.Option(Path("runs/demo"), help="Output folder (re-runs resume)."),
    model: str = typer.Option(None, help="Student model spec (default smollm2)."),
    teacher: str = typer.Option(
        None,
        help="Teacher model spec (default: the student). A large model on vLLM or an API "
        "distils far better rules and thoughts than the 135M default.",
    ),
    teacher_sessions: int = typer.Option(
        1, help="Training sessions per domain the teacher distils rules and thoughts from."
    ),
) -> None:
    """Baselines, distillation into a FAISS KB, the student in 3 modes, one score table."""
    from bundlekd.app.demo import run_demo
    from bundlekd.eval.compare import render_comparison

    with errors_to_exit():
        config = load_cli_config(student__model=model, teacher__model=teacher).config
    with errors_to_exit(), progress_bar() as bar:
        task = bar.add_task("student", total=None, visible=False)

        def on_stage(message: str) -> None:
            bar.update(task, visible=False, completed=0)
            console.print(f"[bold cyan]▶[/] {message}")

        def on_progress(done: int, total: int) -> None:
            bar.update(task, visible=True, completed=done, total=total)

        result = run_demo(
            out,
            model=config.student.model,
            teacher=config.teacher.model or None,
            teacher_sessions_per_domain=teacher_sessions,
            on_stage=on_stage,
            on_progress=on_progress,
        )
    console.print(
        render_comparison(result.rows, "bundlekd demo: sample test sessions (3 domains × 4)")
    )
    taught = result.distill_summary.get("teacher", {})
    kinds = taught.get("per_kind", {})
    console.print(
        f"teacher {taught.get('teacher', '?')}: {kinds.get('rule', 0)} rules, "
        f"{taught.get('thoughts_accepted', 0)}/{taught.get('thoughts_total', 0)} thoughts accepted "
        f"(rejections: {taught.get('thought_rejections', {})}); a 135M teacher mostly fails, "
        "try --teacher openai:MODEL@URL"
    )
    timings = ", ".join(f"{name} {secs:.0f}s" for name, secs in result.seconds.items())
    console.print(f"time: {timings}")
    console.print(f"outputs in {result.out_dir} (summary.json, predictions/, eval/, kb/)")
