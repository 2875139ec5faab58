"""Fit the grouping tool of a KB: scorer on training sessions, grouping settings on val.

The test split is never read here. The result is saved under the KB folder (`tool/tool.json`)
with what it was fitted and tuned on, and the validation scores it reached.

How settings are chosen on val:
- cosine scorer: per domain, the linkage and threshold with the best mean of strict P and
  strict unique R (exactly the clustering baseline, plus intents from the item memory);
- learned scorer: one shared policy and threshold, chosen by a whole-bundle objective (default
  GJS) with the clustering bar's val strict P and unique R as guard rails
  (`bundlekd.app.tool_choice`; the same embedder's cosine, tuned on val as above, is the bar).

Cross-fitting (`fold_embedders`, the study's `both` utilization): a tuned embedder makes the
sessions it was tuned on look easier than new ones, so the scorer's training rows of fold k
are featurised by an embedder tuned without fold k (`knowledge_base.grouping.crossfit`);
val, test and inference use `embedder`, tuned on all training sessions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundlekd.data.leakage import check_sessions
from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.grouping.tool import GroupingTool
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.embeddings import Embedder

logger = logging.getLogger(__name__)


def fit_tool(
    kb: KnowledgeBase,
    train: Sequence[Session],
    val: Sequence[Session],
    embedder: Embedder,
    *,
    scorer: str = "cosine",
    fallback_pair: bool = True,
    features: Sequence[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    fit: dict[str, Any] | None = None,
    fold_embedders: Sequence[Embedder] | None = None,
    coverage_floor: bool = False,
    objective: str = "gjs",
    guard_tolerance: float = 0.05,
) -> GroupingTool:
    """Build the tool from the KB's exemplars, fit its scorer on `train`, tune on `val`, save.

    The tool records the knowledge state it was fitted on (`metadata["knowledge"]`, its hash)
    and `fit`: how `train` was chosen (source, split, ratio, ...), so `bundlekd kb refit-tool`
    can fit it again on a changed KB. `features` limits the learned scorer to these feature
    groups (default all). `fold_embedders` (K >= 2; embedder k tuned on the training
    sessions outside fold k) cross-fit the learned scorer's training rows; `coverage_floor`
    keeps the chosen settings' val coverage at the clustering bar's (learned scorer);
    `objective` ranks the learned scorer's candidate settings on val (`tool_choice.OBJECTIVES`)
    and `guard_tolerance` is how far below the bar's val strict P/R they may fall.

    Raises:
        LeakageError: test sessions or sessions without a split in `train` or `val`, or
            non-training sessions in `train` (the guard is `bundlekd.data.leakage`).
        DataError: no labelled validation sessions.
        ConfigError: an unknown scorer; fold embedders with the cosine scorer, or just one.
    """
    from bundlekd.app.tool_choice import bar_val_scores
    from bundlekd.baselines.cluster import labelled_val, tune_grouping
    from bundlekd.files import canonical_hash
    from bundlekd.knowledge_base.grouping.scorers import CosineScorer
    from bundlekd.knowledge_base.grouping.tool import GroupingTool, GroupSettings
    from bundlekd.knowledge_base.grouping.tool_file import fitted_knowledge

    check_sessions(
        train, use="fitting the grouping tool's scorer", allowed=("train",), can_force=False
    )
    if scorer not in ("cosine", "learned"):
        raise ConfigError(f"unknown tool scorer {scorer!r}: cosine or learned")
    if fold_embedders and scorer != "learned":
        raise ConfigError("cross-fitting (fold embedders) needs the learned tool scorer")
    if fold_embedders and len(fold_embedders) < 2:
        raise ConfigError("cross-fitting needs one embedder per fold, at least 2 folds")
    labelled = labelled_val(val)
    cross_fit: dict[str, Any] | None = None
    knowledge = fitted_knowledge(kb.store.load().values())
    tool = GroupingTool(embedder, kb.item_memory(embedder, write_cache=True), scorer=CosineScorer())
    val_vectors, cosine = tool.score(labelled)
    bar = tune_grouping(labelled, cosine, fallback_pair)
    if scorer == "cosine":
        tool.settings = {
            t.domain: GroupSettings(
                policy=t.settings.linkage,
                threshold=t.settings.threshold,
                fallback_pair=fallback_pair,
            )
            for t in bar
        }
        val_detail = {
            t.domain: {"precision": t.precision, "recall": t.recall, "coverage": t.coverage}
            for t in bar
        }
        chosen_by = {"objective": "pr", "per_domain": True}
    else:
        from bundlekd.knowledge_base.grouping.learned import fit_learned_scorer

        # Through the item memory's title vectors (known titles are not embedded again); the
        # titles it had to embed join its cache, so loading the tool embeds nothing.
        titles = tool.memory.title_embedder()
        memories = kb.scorer_memories(titles)
        for memory in memories.values():  # a memory reused from an earlier build asked none
            titles.embed_batch([t for session in memory.sessions for t in session.titles])
        if tool.memory.unsaved_titles:
            tool.memory.save(kb.kb_dir / "index", embedder.model_id)

        def step(done: int, total: int) -> None:
            if progress is not None:
                progress("fitting the pair scorer", done, total)

        if fold_embedders:
            tool.scorer, cross_fit = _cross_fitted_scorer(
                kb, train, memories, fold_embedders, features, step
            )
        else:
            tool.scorer = fit_learned_scorer(
                train, memories, tool.embed(train), groups=features, progress=step
            )
        from bundlekd.app.tool_choice import choose_settings

        matrices = tool.scorer.score(labelled, val_vectors)
        choice = choose_settings(
            labelled,
            matrices,
            {
                t.domain: {"precision": t.precision, "recall": t.recall, "coverage": t.coverage}
                for t in bar
            },
            objective=objective,
            tolerance=guard_tolerance,
            coverage_floor=coverage_floor,
            fallback_pair=fallback_pair,
        )
        tool.settings = {d: choice.settings for d in sorted({s.domain for s in labelled})}
        chosen_by = choice.record
        val_detail = choice.scores
    tool.metadata = {
        "fitted_on": {
            "train_sessions": len(train),
            "train_hash": canonical_hash(sorted(s.key for s in train)),
        },
        "tuned_on": {
            "val_sessions": len(labelled),
            "val_hash": canonical_hash(sorted(s.key for s in labelled)),
        },
        "val_scores": dict(sorted(val_detail.items())),
        "chosen_by": chosen_by,
        "val_clustering_bar": bar_val_scores(labelled, cosine, bar, fallback_pair),
        **({"cross_fit": cross_fit} if cross_fit is not None else {}),
        "exemplars": len(tool.memory.exemplar_ids),
        "knowledge": knowledge,
        "fit": {
            **(fit or {}),
            "scorer": scorer,
            "fallback_pair": fallback_pair,
            **({"features": list(features)} if features is not None else {}),
            **({"coverage_floor": True} if coverage_floor else {}),
            **({"objective": objective} if scorer == "learned" else {}),
            **({"guard_tolerance": guard_tolerance} if scorer == "learned" else {}),
        },
        **({"feature_groups": list(features)} if features is not None else {}),
    }
    tool.save(kb.kb_dir)
    logger.info("grouping tool saved in %s: %s", kb.kb_dir, tool.describe())
    return tool


def fit_tool_as(
    kb: KnowledgeBase,
    fit: dict[str, Any],
    *,
    train: Sequence[Session] | None = None,
    data_dir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    record: str | None = "fit-tool",
) -> GroupingTool:
    """Fit the KB's tool as `fit` says (what `distill` records: source, domains, split, ratio,
    strategy, seed, limit, scorer, tool embedder); `train` is that sample when the caller has
    it, else it is drawn again (the same seed gives the same sessions).

    With `record` (the default) the fit is history operation `record`, fitted in a scratch
    copy under the KB's writer lock (`tool_commit.commit_fit`); None saves it in place (what
    the scratch copy itself does).

    Raises:
        ConfigError: the source has no val sessions (the tool is tuned on val, never test).
        LeakageError: `fit` names a split other than train.
    """
    if record is not None:
        from bundlekd.app.tool_commit import commit_fit

        return commit_fit(kb, fit, train=train, data_dir=data_dir, progress=progress, op=record)
    from bundlekd.app.components import build_embedder
    from bundlekd.data.leakage import check_fit_split
    from bundlekd.data.sampling import sample_sessions
    from bundlekd.data.sources import data_dir_from_env, load_sessions
    from bundlekd.llm.config import EmbedderConfig

    recorded_dir = fit.get("data_dir")
    data_dir = data_dir or data_dir_from_env() or (Path(recorded_dir) if recorded_dir else None)
    domains = list(fit.get("domains") or ()) or None
    if train is None:
        split = check_fit_split(fit.get("split", "train"), use="the grouping tool's scorer")
        sessions = load_sessions(fit["source"], domains=domains, split=split, data_dir=data_dir)
        sampled = sample_sessions(
            sessions, fit.get("ratio", 1.0), fit.get("strategy", "random"), fit.get("seed", 0)
        )
        train = sampled[: fit.get("limit")]
    val = load_sessions(fit["source"], domains=domains, split="val", data_dir=data_dir)
    if not val:
        raise ConfigError(
            f"{fit['source']} has no val sessions: the grouping tool is tuned on the validation "
            "split (never on test); add val sessions or distil without exemplars"
        )
    name = fit.get("tool_embedder")
    embedder = build_embedder(EmbedderConfig(name=name)) if name else kb.embedder
    scorer = fit.get("scorer", "cosine")
    recorded = {
        k: v
        for k, v in fit.items()
        if k
        not in (
            "scorer",
            "fallback_pair",
            "features",
            "coverage_floor",
            "objective",
            "guard_tolerance",
        )
    }
    features = fit.get("features")
    folds = [build_embedder(EmbedderConfig(name=f)) for f in fit.get("tool_embedder_folds") or ()]
    return fit_tool(
        kb,
        train,
        val,
        embedder,
        scorer=scorer,
        fallback_pair=fit.get("fallback_pair", True),
        features=list(features) if features is not None else None,
        progress=progress,
        fit=recorded,
        fold_embedders=folds or None,
        coverage_floor=bool(fit.get("coverage_floor", False)),
        # a fit recorded before the objective existed was chosen by P/R ("pr")
        objective=str(fit.get("objective", "pr")),
        guard_tolerance=float(fit.get("guard_tolerance", 0.05)),
    )


def recorded_fit(kb_dir: Path) -> dict[str, Any]:
    """How the KB's tool was fitted: from `tool/tool.json` (`metadata.fit`), else from the
    `distill.config.yaml` the last distillation left in the KB folder.

    Raises:
        ConfigError: neither says.
    """
    from bundlekd.errors import BundleKDError
    from bundlekd.files import read_json
    from bundlekd.knowledge_base.grouping.tool import tool_path

    damage = "no tool/tool.json with its fit settings"
    try:
        saved = read_json(tool_path(kb_dir))
        fit = saved["metadata"]["fit"]
        if isinstance(fit, dict) and isinstance(fit.get("source"), str):
            return dict(fit)
    except BundleKDError as exc:  # a damaged tool file: the distill config may still say
        if tool_path(kb_dir).exists():
            damage = str(exc)  # names the file, line and column
    except (KeyError, TypeError):
        pass  # an older tool file: the distill config may still say
    config_file = kb_dir / "distill.config.yaml"
    if not config_file.is_file():
        raise ConfigError(
            f"{kb_dir}: no record of how its grouping tool was fitted ({damage}, no "
            "distill.config.yaml); fit one with `bundlekd distill --kinds "
            f"exemplar --kb {kb_dir} ...`"
        )
    from bundlekd.config import load_config

    config = load_config(config_file, {}).config
    return {
        "source": config.data.source,
        "domains": sorted(config.data.domains),
        "data_dir": str(config.data.dir) if config.data.dir else None,
        "split": config.distill.split,
        "ratio": config.distill.ratio,
        "strategy": config.distill.strategy,
        "seed": config.distill.seed,
        "limit": config.distill.limit,
        "scorer": config.kb.tool_scorer,
        "tool_embedder": config.kb.tool_embedder,
        "tool_embedder_folds": list(config.kb.tool_embedder_folds or ()) or None,
        "coverage_floor": config.kb.tool_coverage_floor,
        "objective": config.kb.tool_objective,
        "guard_tolerance": config.kb.tool_guard_tolerance,
    }


def refit_tool(
    kb_dir: Path,
    *,
    data_dir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    accept_data_change: bool = False,
    objective: str | None = None,
) -> GroupingTool:
    """Fit the KB's grouping tool again on its knowledge as it is now, with the settings it was
    fitted with (`recorded_fit`): what `kb add`/`kb remove` leave stale. One history operation
    `refit-tool`, under the KB's writer lock (`kb rollback` undoes it). `objective` replaces the
    recorded val objective (a tool fitted before 2026-12 recorded none and refits by `pr`, the
    pairs-era rule; `gjs` moves it to whole bundles); the new one is recorded.

    Raises:
        KnowledgeBaseError: not a KB, or one without exemplars (no tool to refit).
        LeakageError: the recorded split is not train.
        DataError: the sessions drawn again are not the ones the tool recorded (unless
            `accept_data_change`, which history then logs).
    """
    from bundlekd.app.components import open_kb
    from bundlekd.app.tool_choice import OBJECTIVES
    from bundlekd.app.tool_commit import (
        check_data_identity,
        commit_fit,
        draw_fit_sessions,
        require_exemplars,
    )
    from bundlekd.knowledge_base.config import KBConfig
    from bundlekd.knowledge_base.grouping.tool import tool_path
    from bundlekd.llm.config import EmbedderConfig

    if objective is not None and objective not in OBJECTIVES:
        raise ConfigError(f"unknown tool objective {objective!r}: one of {', '.join(OBJECTIVES)}")
    require_exemplars(kb_dir, "refit")
    fit = recorded_fit(kb_dir)
    if objective is not None:
        fit = {**fit, "objective": objective}
    saved = tool_path(kb_dir)
    where = str(saved if saved.is_file() else kb_dir / "distill.config.yaml")
    kb = open_kb(KBConfig(dir=kb_dir), EmbedderConfig(), create=True)
    with kb.store.locked("refit-tool"):  # the tool it is compared with cannot change meanwhile
        train, val = draw_fit_sessions(fit, data_dir, where=where)
        changed = check_data_identity(kb_dir, train, val, accept=accept_data_change)
        summary = {"data_changed": changed} if changed else {}
        return commit_fit(
            kb,
            fit,
            train=train,
            data_dir=data_dir,
            progress=progress,
            op="refit-tool",
            summary=summary,
        )


def _cross_fitted_scorer(
    kb: KnowledgeBase,
    train: Sequence[Session],
    memories: dict[str, Any],
    fold_embedders: Sequence[Embedder],
    features: Sequence[str] | None,
    progress: Callable[[int, int], None],
) -> tuple[Any, dict[str, Any]]:
    """The learned scorer fitted on out-of-fold rows: fold k's sessions (and the memory they
    are featurised against) embedded by `fold_embedders[k]`, which never saw them. The
    scorer keeps `memories` (the inference embedder's)."""
    from bundlekd.knowledge_base.grouping.crossfit import split_folds
    from bundlekd.knowledge_base.grouping.learned import TrainingPart, fit_learned_scorer_parts
    from bundlekd.knowledge_base.grouping.tool import embed_sessions

    folds = split_folds(train, len(fold_embedders))
    parts = []
    for embedder, sessions in zip(fold_embedders, folds, strict=True):
        logger.info("cross-fit: %d sessions featurised by %s", len(sessions), embedder.model_id)
        parts.append(
            TrainingPart(sessions, kb.scorer_memories(embedder), embed_sessions(embedder, sessions))
        )
    scorer = fit_learned_scorer_parts(parts, memories, groups=features, progress=progress)
    record = {
        "cross_fitted": True,
        "folds": len(fold_embedders),
        "fold_embedders": [e.model_id for e in fold_embedders],
        "fold_sessions": [len(f) for f in folds],
        "fold_of": "sha256 of (domain, session id) mod folds",
    }
    return scorer, record
