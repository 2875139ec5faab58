"""Shared CLI helpers: error mapping, console, progress bars."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from bundlekd.errors import BundleKDError
from bundlekd.sanitize import printable, redact

if TYPE_CHECKING:
    from bundlekd.config import LoadedConfig
    from bundlekd.eval.tables import TableData

# Markup off: printed text quotes ids, paths, KB items and model output, which may hold "[/x]"
# or "[/INST]"; a str is always plain text (table cells and titles too). Style with `style=`
# or `rich.text.Text`.
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)


def styled(style: str, label: str, message: str = "") -> Any:
    """`label` in `style`, then `message` as plain text (a `rich.text.Text`)."""
    from rich.text import Text

    return Text.assemble((label, style), " " if message else "", message)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a red one-line error and return the Exit to raise.

    The message is printed as plain text (it may quote paths, ids or model output holding
    rich markup such as `[/INST]`) and never re-wrapped, so it stays one line in a pipe.
    """
    from rich.text import Text

    shown = printable(redact(message))
    err_console.print(Text.assemble(("error:", "bold red"), " ", shown), soft_wrap=True)
    return typer.Exit(code)


def warn(message: str) -> None:
    """A loud one-line warning on stderr (plain text: it may quote ids, paths or model output)."""
    from rich.text import Text

    shown = printable(redact(message))
    err_console.print(Text.assemble(("warning:", "bold yellow"), " ", shown), soft_wrap=True)


@contextlib.contextmanager
def errors_to_exit() -> Iterator[None]:
    """Turn BundleKDError (our expected failures) into a clean message and exit code 1."""
    try:
        yield
    except BundleKDError as exc:
        raise fail(str(exc)) from None


#: Seconds between plain progress lines when stderr is a pipe or a log file.
PROGRESS_SECONDS_ENV = "BUNDLEKD_PROGRESS_SECONDS"
DEFAULT_PROGRESS_SECONDS = 30.0


def progress_bar():  # type: ignore[no-untyped-def]
    """A rich progress bar with count, rate and ETA, for long loops.

    On a terminal it is a live bar. When stderr is not a terminal (a log file, a pipe, CI) a
    live bar shows nothing until the end, so a plain line per visible task is printed instead
    every 30 s (`$BUNDLEKD_PROGRESS_SECONDS`), from a timer: a long step is no silence either.
    """
    import os
    import threading
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    class _Progress(Progress):
        def __enter__(self) -> _Progress:
            super().__enter__()
            if not err_console.is_terminal:
                self._stop_beat = threading.Event()
                self._started = time.monotonic()
                self._beat = threading.Thread(target=self._heartbeat, daemon=True)
                self._beat.start()
            return self

        def __exit__(self, *exc_info: Any) -> None:
            if getattr(self, "_beat", None) is not None:
                self._stop_beat.set()
                self._beat.join()
            super().__exit__(*exc_info)

        def _heartbeat(self) -> None:
            every = _progress_seconds(os.environ.get(PROGRESS_SECONDS_ENV, ""))
            while not self._stop_beat.wait(every):
                elapsed = time.monotonic() - self._started
                for task in list(self.tasks):
                    if not task.visible:
                        continue
                    count = f"{task.completed:g}" + (f"/{task.total:g}" if task.total else "")
                    err_console.print(
                        f"progress: {task.description}: {count} ({elapsed:.0f} s)",
                        markup=False,
                        highlight=False,
                        soft_wrap=True,
                    )

    return _Progress(
        TextColumn("{task.description}", markup=False, style="bold blue"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    )


def stage_progress(bar: Any) -> Callable[[str, int, int], None]:
    """A `progress(stage, done, total)` callback that gives each stage its own task on `bar`
    (a `progress_bar()`)."""
    tasks: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return progress


def _progress_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        return DEFAULT_PROGRESS_SECONDS
    return seconds if seconds > 0 else DEFAULT_PROGRESS_SECONDS


# The --config file given to the root command (set by its callback, read by every command).
_config_file: list[Path | None] = [None]


def set_config_file(path: Path | None) -> None:
    _config_file[0] = path


def load_cli_config(**overrides: Any) -> LoadedConfig:
    """The effective configuration: defaults < --config YAML < BUNDLEKD_* env < these flags.

    Keyword names are dotted keys with "__" for "." (`student__model="hf:/m"`); None means the
    flag was not given.
    """
    from bundlekd.config import load_config

    dotted = {key.replace("__", "."): value for key, value in overrides.items()}
    return load_config(_config_file[0], dotted)


def check_format(output_format: str) -> None:
    """Refuse an unknown --format before any work is done."""
    from bundlekd.errors import ConfigError
    from bundlekd.eval.tables import FORMATS

    if output_format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {output_format!r}")


def print_table(table: TableData, output_format: str = "table") -> None:
    """A result table: rich for a terminal, or markdown/csv/json text for pipes and files."""
    print_tables([table], output_format)


def print_tables(tables: Sequence[TableData], output_format: str = "table") -> None:
    """Result tables on stdout: rich for a terminal, or ONE markdown/csv/json document (the
    tables nested in it) for pipes and files. Everything else a command says goes to stderr."""
    from bundlekd.eval.tables import render_many, to_rich

    check_format(output_format)
    if output_format == "table":
        for table in tables:
            console.print(to_rich(table))
    else:
        console.out(render_many(tables, output_format), end="", highlight=False)


def invocation(ctx: typer.Context) -> str:
    """The command line that reproduces this call: `bundlekd <sub> <cmd>` with every argument
    and every option that differs from its default.

    Rebuilt from the parsed parameters, not `sys.argv`: under a test runner or a wrapper
    script, argv is that program's, and this line goes into cards people copy from.
    """
    import shlex

    # Typer ships its own copy of click, so parameters are told apart by their kind name.
    words = ["bundlekd", *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.param_type_name == "argument":
            words.extend(str(v) for v in (value if isinstance(value, list | tuple) else [value]))
            continue
        if param.param_type_name != "option" or value is None or value == param.default:
            continue
        if getattr(param, "is_flag", False) and isinstance(value, bool):
            names = param.opts if value else param.secondary_opts
            if names:
                words.append(names[0])
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            words.extend([param.opts[0], str(item)])
    return shlex.join(words)
