"""`bundlekd llm ...`: convert the default model, ping a backend, list backends."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from bundlekd.cli.common import console, err_console, errors_to_exit, fail, styled
from bundlekd.sanitize import printable

app = typer.Typer(
    help="Chat backends: default model, connectivity, registry.", no_args_is_help=True
)


@app.command("convert")
def convert(
    cache_dir: str = typer.Option(
        None, help="Cache root (default $BUNDLEKD_CACHE_DIR or ~/.cache/bundlekd)."
    ),
) -> None:
    """Convert the default model (SmolLM2-135M-Instruct GGUF) once to a cached HF folder."""
    from bundlekd.llm.model_store import ensure_default_model, is_complete, read_manifest

    with errors_to_exit():
        started = time.perf_counter()
        path = ensure_default_model(cache_dir, progress=lambda line: err_console.print(line))
        seconds = time.perf_counter() - started
        manifest = read_manifest(path) if is_complete(path) else {}
    console.print(str(path), style="bold", soft_wrap=True)
    console.print(
        f"ready in {seconds:.1f} s (conversion took {manifest.get('conversion_s', '?')} s "
        f"on {manifest.get('converted_at', '?')})"
    )


@app.command("path")
def path_command(
    cache_dir: str = typer.Option(None, help="Cache root (default $BUNDLEKD_CACHE_DIR)."),
) -> None:
    """Print the converted default model folder (for scripts, e.g. the vLLM server)."""
    from bundlekd.llm.model_store import default_model_dir

    typer.echo(str(default_model_dir(cache_dir)))


@app.command("ping")
def ping(
    model_spec: str = typer.Argument("smollm2", help="e.g. smollm2, hf:DIR, openai:MODEL@URL"),
    prompt: str = typer.Option("Say hello in five words.", help="The user message."),
    max_new_tokens: int = typer.Option(16, help="Reply length limit."),
    num_threads: int = typer.Option(None, help="torch threads (local backends)."),
) -> None:
    """Send one tiny request and print the reply with its latency."""
    from bundlekd.llm.base import Message, Sampling
    from bundlekd.llm.registry import get_llm, is_local_spec

    options = {}
    if num_threads and is_local_spec(model_spec):
        options["num_threads"] = num_threads
    with errors_to_exit():
        llm = get_llm(model_spec, **options)
        started = time.perf_counter()
        completion = llm.complete(
            [Message("user", prompt)], sampling=Sampling(max_new_tokens=max_new_tokens)
        )
        seconds = time.perf_counter() - started
        llm.close()
    if completion.error:
        raise fail(completion.error)
    console.print(styled("bold", f"{llm.model_id}:", printable(completion.text)))
    console.print(
        f"{seconds:.2f} s total (incl. loading), generate {completion.latency_s:.2f} s, "
        f"{completion.prompt_tokens}+{completion.completion_tokens} tokens, "
        f"finish={completion.finish_reason}"
    )


@app.command("list")
def list_command() -> None:
    """List the known backends (built-in and entry points)."""
    from bundlekd.llm.registry import list_backends

    table = Table("name", "implementation")
    for name, target in sorted(list_backends().items()):
        table.add_row(name, target)
    console.print(table)
