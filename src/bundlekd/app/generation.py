"""Batch generation as one call: sessions from the config, the student, a resumable run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.agent.runner import RunSummary
    from bundlekd.app.ray_engine import RayOptions
    from bundlekd.config import LoadedConfig
    from bundlekd.data.schema import Session

logger = logging.getLogger(__name__)


def config_path_for(out: Path) -> Path:
    """`<out>.config.yaml`: the resolved configuration written beside a predictions file."""
    return out.with_name(out.name + ".config.yaml")


def check_out_path(out: Path) -> None:
    """Everything about `out` that can fail, found before sessions, KB or model load:
    its folder can be written, and no other run holds it.

    Raises:
        WriteError: a read-only filesystem, a parent that is a file, a folder named like the
            file, or another run writing it.
    """
    from bundlekd.agent.runner import manifest_path, out_lock
    from bundlekd.files import check_writable

    for path in (out, manifest_path(out), config_path_for(out)):
        check_writable(path)
    with out_lock(out):
        pass


def run_generation(
    loaded: LoadedConfig,
    out: Path,
    *,
    sessions_file: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    force: bool = False,
    ray: RayOptions | None = None,
) -> RunSummary:
    """Predict the configured sessions into `out` (resumed if present).

    The output path is checked first (before any model loads). A KB is opened read-only; the
    run's manifest records it, with how much of its knowledge came from the test split or no
    known split (forced), and the summary's `warnings` say so.

    Args:
        force: resume `out` even if it was started with another configuration.
        ray: run the agent on a Ray cluster (`bundlekd.app.ray_engine`) instead of in this
            process; the file, manifest and resume rules are the same.

    Raises:
        WriteError: `out` cannot be written, or another run is writing it.
        ConfigError: nothing to predict, a mode without what it needs, or `out` holds
            predictions of another configuration (without `force`).
        LLMError: the backend failed; finished batches stay in `out`, a re-run resumes.
        EngineError: the Ray cluster failed; finished batches stay in `out`, a re-run resumes.
    """
    from bundlekd.agent.runner import check_out, run_batch
    from bundlekd.app.components import build_agent, build_llm, load_targets, open_kb
    from bundlekd.config import write_resolved_config

    check_out_path(out)
    config = loaded.config
    notes: list[str] = []
    targets, train = load_targets(config.data, sessions_file, notes=notes)
    for note in notes:  # said before the first batch, and again in the summary
        logger.warning("%s", note)
    if not targets:
        domains = ",".join(config.data.domains) or "all"
        raise ConfigError(
            f"no sessions to predict (split {config.data.split!r}, domains {domains})"
        )
    generation = config.generation
    kb = None
    context: dict[str, Any] = {}
    engine = None
    if ray is not None:  # fails without Ray Data before anything loads
        from bundlekd.app.ray_engine import ray_engine

        engine = ray_engine(config, train, ray)
        context["engine"] = {"name": "ray", "address": ray.address, "workers": ray.workers}
    if generation.uses_knowledge or generation.uses_tool:
        kb = open_kb(config.kb, config.embedder)
        context["kb"] = {**kb.describe(), **kb.provenance()}
    llm = build_llm(config.student, batch_size=generation.batch_size)
    # (the model loads on the first call: everything above fails before it does)
    try:
        agent = build_agent(config, llm, train_sessions=train, kb=kb)
        check_tool_domains(agent, targets)
        check_out(agent, out, force=force, context=context)
        write_resolved_config(loaded, config_path_for(out))
        summary = run_batch(
            agent,
            targets,
            out,
            batch_size=generation.batch_size,
            on_progress=on_progress,
            force=force,
            context=context,
            engine=engine,
        )
    finally:
        llm.close()
    return replace(summary, warnings=(*notes, *summary.warnings))


def check_tool_domains(agent: object, targets: Sequence[Session]) -> None:
    """A learned grouping tool scores only domains it has a memory of: sessions of any other
    domain are refused before the first batch, not when their batch comes up.

    Raises:
        ConfigError: naming the unknown domains, how many sessions they hold, and the known ones.
    """
    scorer = getattr(getattr(agent, "proposer", None), "scorer", None)
    memories = getattr(scorer, "memories", None)
    if getattr(scorer, "kind", "") != "learned" or not isinstance(memories, dict):
        return
    unknown = sorted({s.domain for s in targets} - set(memories))
    if unknown:
        count = sum(s.domain in unknown for s in targets)
        raise ConfigError(
            f"{count} session(s) are of domain(s) {unknown} that the KB's learned grouping tool "
            f"has no memory of (it knows {sorted(memories)}); give --domain, or use a KB "
            "distilled from those domains, or a mode without the tool (e.g. --mode few_shot)"
        )
