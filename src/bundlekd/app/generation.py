"""Batch generation as one call: sessions from the config, the student, a resumable run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.agent.runner import RunSummary
    from bundlekd.config import LoadedConfig


def config_path_for(out: Path) -> Path:
    """`<out>.config.yaml`: the resolved configuration written beside a predictions file."""
    return out.with_name(out.name + ".config.yaml")


def run_generation(
    loaded: LoadedConfig,
    out: Path,
    *,
    sessions_file: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Predict the configured sessions into `out` (resumed if present).

    Raises:
        ConfigError: nothing to predict, or a mode without what it needs.
        LLMError: the backend failed; finished batches stay in `out`.
    """
    from bundlekd.agent.runner import run_batch
    from bundlekd.app.components import build_agent, build_llm, load_targets
    from bundlekd.config import write_resolved_config

    config = loaded.config
    targets, train = load_targets(config.data, sessions_file)
    if not targets:
        domains = ",".join(config.data.domains) or "all"
        raise ConfigError(
            f"no sessions to predict (split {config.data.split!r}, domains {domains})"
        )
    llm = build_llm(config.student, batch_size=config.generation.batch_size)
    # (the tool mode needs no model: build_llm is lazy and loads nothing until the first call)
    try:
        agent = build_agent(config, llm, train_sessions=train)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_resolved_config(loaded, config_path_for(out))
        return run_batch(
            agent,
            targets,
            out,
            batch_size=config.generation.batch_size,
            on_progress=on_progress,
        )
    finally:
        llm.close()
