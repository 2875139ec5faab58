"""`bundlekd generate`: the student over many sessions, resumable, with a progress bar.

Also holds the option parsing shared with `bundlekd chat` (backend, examples, knowledge).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bundlekd.cli.common import console, errors_to_exit, progress_bar
from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.agent import AgentConfig, StudentAgent
    from bundlekd.data.schema import Session
    from bundlekd.llm.base import LLM

MODES = ("zero_shot", "few_shot", "icl")
_LOCAL_BACKENDS = ("smollm2", "hf")


def load_llm(spec: str, *, threads: int | None, batch_size: int) -> LLM:
    """The backend for a registry spec; local backends get the thread count and batch size."""
    from bundlekd.llm.registry import get_llm

    options: dict[str, object] = {}
    if spec.split(":", 1)[0].split("+", 1)[0] in _LOCAL_BACKENDS:
        options = {"batch_size": batch_size}
        if threads is not None:
            options["num_threads"] = threads
    elif threads is not None:
        raise ConfigError(f"--threads applies to local models only, not {spec!r}")
    return get_llm(spec, **options)


def make_config(mode: str, **settings: object) -> AgentConfig:
    """AgentConfig from CLI values; a bad value is a ConfigError naming it."""
    from pydantic import ValidationError

    from bundlekd.agent import AgentConfig

    if mode not in MODES:
        raise ConfigError(f"unknown --mode {mode!r}: valid choices are {', '.join(MODES)}")
    try:
        return AgentConfig(mode=mode, **settings)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid option: {problems}") from None


def build_agent(
    llm: LLM,
    config: AgentConfig,
    *,
    train_sessions: Sequence[Session],
    embedder: str,
    kb: Path | None,
) -> StudentAgent:
    """Wire the student: an example index when the mode uses examples, knowledge for icl."""
    from bundlekd.agent import ExampleIndex, StudentAgent

    if kb is not None and config.mode != "icl":
        raise ConfigError("--kb is only used with --mode icl")
    knowledge = None  # resolved first: a missing KB should fail before the embedder loads
    if config.uses_knowledge:
        if kb is None:
            raise ConfigError("--mode icl needs --kb DIR (a knowledge base)")
        knowledge = _knowledge_source(kb, config)
    index = None
    if config.uses_examples:
        if not any(s.bundles is not None for s in train_sessions):
            raise ConfigError(
                "no training sessions with bundles to draw worked examples from; "
                "use --mode zero_shot or --examples 0"
            )
        from bundlekd.llm.embeddings import get_embedder

        index = ExampleIndex(train_sessions, get_embedder(embedder))
    return StudentAgent(llm, config, example_index=index, knowledge_source=knowledge)


def _knowledge_source(kb: Path, config: AgentConfig):  # type: ignore[no-untyped-def]
    try:
        from bundlekd.pipeline import knowledge_source_for  # type: ignore[attr-defined]
    except ImportError:
        raise ConfigError(
            "--kb needs bundlekd.pipeline.knowledge_source_for, which this install lacks"
        ) from None
    return knowledge_source_for(kb, config)


def load_targets(
    sessions_file: Path | None,
    source: str | None,
    domains: Sequence[str],
    split: str,
    data_dir: Path | None,
) -> tuple[list[Session], list[Session]]:
    """(sessions to predict, training sessions of the same source and domains)."""
    from bundlekd.data.sources import SPLITS, load_sessions

    if (sessions_file is None) == (source is None):
        raise ConfigError("give exactly one of --sessions FILE.jsonl or --source sample|aicl")
    if split not in SPLITS:
        raise ConfigError(f"unknown --split {split!r}: valid choices are {', '.join(SPLITS)}")
    where = str(sessions_file) if sessions_file is not None else str(source)
    every = load_sessions(where, domains=list(domains) or None, split="all", data_dir=data_dir)
    targets = [s for s in every if split == "all" or s.split == split]
    train = [s for s in every if s.split == "train"]  # worked examples: same source and domains
    return targets, train


def generate_command(
    out: Annotated[Path, typer.Option("--out", help="Predictions JSONL (resumed if present).")],
    sessions: Annotated[
        Path | None, typer.Option("--sessions", help="Sessions JSONL to predict.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help='"sample" (shipped) or "aicl" (real split).')
    ] = None,
    domain: Annotated[
        list[str] | None, typer.Option("--domain", help="Domain (repeatable; default all).")
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split to predict.")] = "test",
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR).")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="Backend spec: smollm2, hf:PATH, openai:MODEL@URL.")
    ] = "smollm2",
    mode: Annotated[str, typer.Option("--mode", help="zero_shot, few_shot or icl.")] = "few_shot",
    examples: Annotated[
        int, typer.Option("--examples", help="Worked examples (nearest training sessions).")
    ] = 1,
    kb: Annotated[
        Path | None, typer.Option("--kb", help="Knowledge-base folder (mode icl).")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Knowledge snippets (icl).")] = 3,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Sessions per batch.")] = 8,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Predict only the first N sessions.")
    ] = None,
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", help="Generation limit per session.")
    ] = 320,
    constrained: Annotated[
        bool,
        typer.Option("--constrained/--no-constrained", help="JSON-schema constrained decoding."),
    ] = True,
    threads: Annotated[
        int | None, typer.Option("--threads", help="CPU threads for a local model.")
    ] = None,
    embedder: Annotated[
        str, typer.Option("--embedder", help="Embedder for example retrieval: minilm, hashing.")
    ] = "minilm",
) -> None:
    """Generate bundles for many sessions; a re-run skips sessions already in --out."""
    from bundlekd.agent import run_batch

    with errors_to_exit():
        if limit is not None and limit < 1:
            raise ConfigError(f"--limit must be >= 1, got {limit}")
        config = make_config(
            mode,
            n_examples=examples,
            top_k=top_k,
            batch_size=batch_size,
            max_new_tokens=max_new_tokens,
            constrained=constrained,
        )
        targets, train = load_targets(sessions, source, domain or [], split, data_dir)
        if limit is not None:
            targets = targets[:limit]
        if not targets:
            raise ConfigError(
                f"no sessions to predict (split {split!r}, domains {domain or 'all'})"
            )
        llm = load_llm(model, threads=threads, batch_size=batch_size)
        agent = build_agent(llm, config, train_sessions=train, embedder=embedder, kb=kb)
        with progress_bar() as progress:
            task = progress.add_task("generating", total=len(targets))

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            summary = run_batch(agent, targets, out, batch_size=batch_size, on_progress=advance)
        llm.close()
    _print_summary(summary, out)


def _print_summary(summary, out: Path) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from bundlekd.agent.runner import manifest_path

    table = Table(title="generate", show_header=False)
    table.add_row("done", str(summary.n_done))
    table.add_row("skipped (already in --out)", str(summary.n_skipped))
    table.add_row("valid output", f"{summary.n_valid}/{summary.n_done} ({summary.valid_rate:.1%})")
    table.add_row("sessions/min", f"{summary.sessions_per_min:.1f}")
    table.add_row("generated tokens", str(summary.tokens))
    table.add_row("elapsed", f"{summary.elapsed:.1f} s")
    console.print(table)
    console.print(f"wrote {out} and {manifest_path(out)}")
