"""`distill` as one call: sample the configured sessions, build the teacher, fill the KB."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.config import LoadedConfig, ProjectConfig
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.distill.runner import DistillReport, ProgressCallback
    from bundlekd.knowledge_base.kb import KnowledgeBase

TEACHER_KINDS = frozenset({"rule", "thought"})


@dataclass(frozen=True)
class DistillRun:
    report: DistillReport
    available: int  # sessions of the split before sampling
    tool: dict[str, Any] | None = None  # the grouping tool fitted with the exemplars


def check_kinds(kinds: tuple[str, ...] | list[str]) -> list[str]:
    """The requested kinds, validated against the knowledge schema."""
    from bundlekd.knowledge_base.store.items import KINDS

    chosen = [k.strip() for k in kinds if k.strip()]
    unknown = [k for k in chosen if k not in KINDS]
    if not chosen or unknown:
        raise ConfigError(
            f"kinds: unknown {unknown or list(kinds)}; choose from {', '.join(KINDS)}"
        )
    return chosen


def run_distillation(
    loaded: LoadedConfig, *, force: bool = False, progress: ProgressCallback | None = None
) -> DistillRun:
    """Distil `distill.kinds` from a `distill.ratio` sample of `distill.split` into `kb.dir`.

    Raises:
        ConfigError: no KB folder, unknown kinds, nothing to distil from.
        LeakageError: test sessions without `force`.
    """
    from bundlekd.app.components import build_teacher, open_kb
    from bundlekd.config import write_resolved_config
    from bundlekd.data.sampling import sample_sessions
    from bundlekd.data.sources import load_sessions
    from bundlekd.knowledge_base.distill.runner import distill

    config = loaded.config
    settings, data = config.distill, config.data
    kinds = check_kinds(settings.kinds)
    if config.kb.dir is None:
        raise ConfigError("distill needs a knowledge-base folder: --kb DIR")
    sessions = load_sessions(
        data.source, domains=list(data.domains) or None, split=settings.split, data_dir=data.dir
    )
    sampled = sample_sessions(sessions, settings.ratio, settings.strategy, settings.seed)
    sampled = sampled[: settings.limit]
    if not sampled:
        where = ",".join(data.domains) or "all"
        raise ConfigError(f"no {settings.split} sessions in {data.source} (domains {where})")
    teacher = build_teacher(config) if TEACHER_KINDS & set(kinds) else None
    try:
        kb = open_kb(config.kb, config.embedder, create=True)
        write_resolved_config(loaded, config.kb.dir / "distill.config.yaml")
        report = distill(
            sampled,
            kinds=kinds,
            teacher=teacher,
            kb_dir=config.kb.dir,
            kb=kb,
            force=force,
            chunk_size=config.teacher.batch_size,
            progress=progress,
        )
        tool = _fit_tool(config, kb, sampled, progress) if "exemplar" in kinds else None
    finally:
        if teacher is not None:
            teacher.close()
    return DistillRun(report=report, available=len(sessions), tool=tool)


def _fit_tool(
    config: ProjectConfig,
    kb: KnowledgeBase,
    train: list[Session],
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Exemplars make the grouping tool: fit it on these training sessions, tune it on val."""
    from bundlekd.app.tool_fitting import fit_tool_as

    data, settings = config.data, config.distill
    fit = {
        "source": data.source,
        "domains": sorted(data.domains),
        "data_dir": str(data.dir) if data.dir else None,
        "split": settings.split,
        "ratio": settings.ratio,
        "strategy": settings.strategy,
        "seed": settings.seed,
        "limit": settings.limit,
        "scorer": config.kb.tool_scorer,
        "tool_embedder": config.kb.tool_embedder,
        **({"features": list(config.kb.tool_features)} if config.kb.tool_features else {}),
        **(
            {"tool_embedder_folds": list(config.kb.tool_embedder_folds)}
            if config.kb.tool_embedder_folds
            else {}
        ),
        **({"coverage_floor": True} if config.kb.tool_coverage_floor else {}),
        "objective": config.kb.tool_objective,
        "guard_tolerance": config.kb.tool_guard_tolerance,
    }
    tool = fit_tool_as(kb, fit, train=train, progress=progress)
    return tool.describe()
