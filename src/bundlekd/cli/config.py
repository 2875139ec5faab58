"""`bundlekd config show`: the effective configuration and where each value came from."""

from __future__ import annotations

from typing import Annotated

import typer

from bundlekd.cli.common import console, errors_to_exit, load_cli_config, warn

app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)


@app.command("show")
def show(
    output_format: Annotated[
        str, typer.Option("--format", help="table (key, value, source) or yaml (loadable).")
    ] = "table",
) -> None:
    """Every setting, its value, and its source: default, file:PATH, env or cli."""
    import json

    from rich.table import Table

    from bundlekd.config import unknown_list_values

    with errors_to_exit():
        loaded = load_cli_config()
        for line in unknown_list_values(loaded.config):
            warn(f"{line}: the commands that read it will refuse it")
        if output_format == "yaml":
            console.out(loaded.to_yaml(), end="", highlight=False)
            return
        if output_format != "table":
            from bundlekd.errors import ConfigError

            raise ConfigError(f"--format must be table or yaml, got {output_format!r}")
    table = Table(title="bundlekd configuration (defaults < --config < BUNDLEKD_* < flags)")
    table.add_column("setting", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("source", overflow="fold")  # a --config path may be long: fold it
    for key, value, source in loaded.rows():
        shown = json.dumps(value) if not isinstance(value, str) else value
        if key.endswith(".dtype") and value == "auto":
            shown = f"auto -> {_auto_dtype()}"
        table.add_row(key, shown, source, style=None if source == "default" else "bold")
    console.print(table, markup=False)


def _auto_dtype() -> str:
    """What "auto" means for a local model on this machine, and why (imports torch)."""
    try:
        from bundlekd.llm.precision import resolve_dtype
        from bundlekd.llm.transformers_local import resolve_device

        choice = resolve_dtype("auto", resolve_device("auto"))
    except ImportError:  # no torch: nothing local runs, so nothing to resolve
        return "(no local backend installed)"
    return f"{choice.dtype} ({choice.reason})"
