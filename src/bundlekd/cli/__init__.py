"""The `bundlekd` command line: thin noun-verb commands over library functions.

Only this package prints. Each command module keeps heavy imports inside its functions, so
`bundlekd --help` stays fast and never imports torch.
"""

from __future__ import annotations

from pathlib import Path

import typer

from bundlekd import __version__
from bundlekd.cli import baseline, data, demo, experiment, finetune, kb, llm
from bundlekd.cli import config as config_cli
from bundlekd.cli.chat import chat_command
from bundlekd.cli.common import set_config_file
from bundlekd.cli.distill import distill_command
from bundlekd.cli.eval import eval_command
from bundlekd.cli.generate import generate_command
from bundlekd.cli.serve import serve_command

app = typer.Typer(
    name="bundlekd",
    help="LLM-based product bundle generation with knowledge distillation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data", help="Load, validate, export and count datasets.")
app.add_typer(
    baseline.app, name="baseline", help="Non-LLM baselines (pair floor, Apriori, clustering)."
)
app.add_typer(kb.app, name="kb", help="Knowledge base: add, remove, search, stats, history.")
app.add_typer(experiment.app, name="experiment", help="Reproduce the study's experiments.")
app.add_typer(config_cli.app, name="config", help="Show the effective configuration.")
app.add_typer(finetune.app, name="finetune", help="Fine-tune the embedder (and the student).")
app.add_typer(llm.app, name="llm", help="Model backends: convert the default model, ping.")
app.command("generate", help="Generate bundles for many sessions (resumable).")(generate_command)
app.command("chat", help="Chat over one session: bundles, edits, questions.")(chat_command)
app.command("distill", help="Distil knowledge (patterns, rules, thoughts) into a KB.")(
    distill_command
)
app.command("eval", help="Score a predictions file against gold sessions.")(eval_command)
app.command("demo", help="The main job on the embedded sample sessions.")(demo.demo_command)
app.command("serve", help="Serve bundles over HTTP (extra [serve]).")(serve_command)


def _log_warnings_once() -> None:
    """Library warnings to stderr in one format from the first one on. Without this they
    print bare until some dependency calls `basicConfig`, then with its prefix. A no-op when
    the host (pytest, an application) has configured logging already."""
    import logging

    from bundlekd.sanitize import printable, redact

    class _Shown(logging.Formatter):
        """Credentials in URLs redacted, terminal escapes stripped, in every logged line."""

        def format(self, record: logging.LogRecord) -> str:
            return printable(redact(super().format(record)))

    if logging.getLogger().handlers:
        return  # the host (pytest, an application) configured logging
    handler = logging.StreamHandler()
    handler.setFormatter(_Shown("%(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


@app.callback(invoke_without_command=True)
def _main(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="YAML configuration (sections data, student, teacher, embedder, kb, retrieval, "
        "distill, generation, eval); also $BUNDLEKD_CONFIG. Flags override it.",
    ),
) -> None:
    _log_warnings_once()
    set_config_file(config)
    # The file is per invocation: a later call in the same process (a library user, a test
    # calling a sub-app directly) must not inherit it.
    ctx.call_on_close(lambda: set_config_file(None))
    if version:
        typer.echo(__version__)
        raise typer.Exit()
