"""Fit the grouping tool of a KB: scorer on training sessions, grouping settings on val.

The test split is never read here. The result is saved under the KB folder (`tool/tool.json`)
with what it was fitted and tuned on, and the validation scores it reached.

How settings are chosen on val:
- cosine scorer: per domain, the linkage and threshold with the best mean of strict P and
  strict unique R (exactly the clustering baseline, plus intents from the item memory);
- learned scorer: one shared policy and threshold, the one whose worst domain beats plain
  clustering (the same embedder's cosine, tuned on val as above) by the most on both P and R.
  Val holds 90 sessions per domain, so per-domain choices among close settings are noise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bundlekd.data.leakage import check_sessions
from bundlekd.errors import ConfigError

if TYPE_CHECKING:
    from bundlekd.data.schema import Session
    from bundlekd.knowledge_base.grouping.cluster import Policy
    from bundlekd.knowledge_base.grouping.tool import GroupingTool
    from bundlekd.knowledge_base.kb import KnowledgeBase
    from bundlekd.llm.embeddings import Embedder

logger = logging.getLogger(__name__)

LEARNED_POLICIES: tuple[Policy, ...] = ("complete", "average", "pairs")
LEARNED_THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.30, 0.91, 0.05))


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
) -> GroupingTool:
    """Build the tool from the KB's exemplars, fit its scorer on `train`, tune on `val`, save.

    The tool records the knowledge state it was fitted on (`metadata["knowledge"]`, its hash)
    and `fit`: how `train` was chosen (source, split, ratio, ...), so `bundlekd kb refit-tool`
    can fit it again on a changed KB. `features` limits the learned scorer to these feature
    groups (default all).

    Raises:
        LeakageError: test sessions or sessions without a split in `train` or `val`, or
            non-training sessions in `train` (the guard is `bundlekd.data.leakage`).
        DataError: no labelled validation sessions.
        ConfigError: an unknown scorer.
    """
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
    labelled = labelled_val(val)
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
        val_scores = {t.domain: (t.precision, t.recall) for t in bar}
    else:
        from bundlekd.knowledge_base.grouping.learned import fit_learned_scorer

        memories = kb.scorer_memories(embedder)

        def step(done: int, total: int) -> None:
            if progress is not None:
                progress("fitting the pair scorer", done, total)

        tool.scorer = fit_learned_scorer(
            train, memories, tool.embed(train), groups=features, progress=step
        )
        matrices = tool.scorer.score(labelled, val_vectors)
        settings, val_scores = _choose_shared(labelled, matrices, bar)
        tool.settings = {d: settings for d in sorted({s.domain for s in labelled})}
    tool.metadata = {
        "fitted_on": {
            "train_sessions": len(train),
            "train_hash": canonical_hash(sorted(s.key for s in train)),
        },
        "tuned_on": {
            "val_sessions": len(labelled),
            "val_hash": canonical_hash(sorted(s.key for s in labelled)),
        },
        "val_scores": {
            d: {"precision": p, "recall": r} for d, (p, r) in sorted(val_scores.items())
        },
        "val_clustering_bar": {
            t.domain: {"precision": t.precision, "recall": t.recall} for t in bar
        },
        "exemplars": len(tool.memory.exemplar_ids),
        "knowledge": knowledge,
        "fit": {
            **(fit or {}),
            "scorer": scorer,
            "fallback_pair": fallback_pair,
            **({"features": list(features)} if features is not None else {}),
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
) -> GroupingTool:
    """Fit the KB's tool as `fit` says (what `distill` records: source, domains, split, ratio,
    strategy, seed, limit, scorer, tool embedder); `train` is that sample when the caller has
    it, else it is drawn again (the same seed gives the same sessions).

    Raises:
        ConfigError: the source has no val sessions (the tool is tuned on val, never test).
    """
    from bundlekd.app.components import build_embedder
    from bundlekd.data.sampling import sample_sessions
    from bundlekd.data.sources import data_dir_from_env, load_sessions
    from bundlekd.llm.config import EmbedderConfig

    recorded_dir = fit.get("data_dir")
    data_dir = data_dir or data_dir_from_env() or (Path(recorded_dir) if recorded_dir else None)
    domains = list(fit.get("domains") or ()) or None
    if train is None:
        sessions = load_sessions(
            fit["source"], domains=domains, split=fit.get("split", "train"), data_dir=data_dir
        )
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
    recorded = {k: v for k, v in fit.items() if k not in ("scorer", "fallback_pair", "features")}
    features = fit.get("features")
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

    try:
        saved = read_json(tool_path(kb_dir))
        fit = saved["metadata"]["fit"]
        if isinstance(fit, dict) and isinstance(fit.get("source"), str):
            return dict(fit)
    except (BundleKDError, KeyError, TypeError):
        pass  # a damaged or older tool file: the distill config may still say
    config_file = kb_dir / "distill.config.yaml"
    if not config_file.is_file():
        raise ConfigError(
            f"{kb_dir}: no record of how its grouping tool was fitted (no tool/tool.json with "
            "its fit settings, no distill.config.yaml); fit one with `bundlekd distill --kinds "
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
    }


def refit_tool(
    kb_dir: Path,
    *,
    data_dir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> GroupingTool:
    """Fit the KB's grouping tool again on its knowledge as it is now, with the settings it was
    fitted with (`recorded_fit`): what `kb add`/`kb remove` leave stale."""
    from bundlekd.app.components import open_kb
    from bundlekd.knowledge_base.config import KBConfig
    from bundlekd.llm.config import EmbedderConfig

    fit = recorded_fit(kb_dir)
    before = _train_hash(kb_dir)
    kb = open_kb(KBConfig(dir=kb_dir), EmbedderConfig(), create=True)
    tool = fit_tool_as(kb, fit, data_dir=data_dir, progress=progress)
    after = tool.metadata["fitted_on"]["train_hash"]
    if before is not None and before != after:
        logger.warning(
            "%s: the training sessions drawn again differ from the ones the tool was fitted on "
            "(train hash %s, was %s): has the source data changed?",
            kb_dir,
            after,
            before,
        )
    return tool


def _train_hash(kb_dir: Path) -> str | None:
    from bundlekd.errors import BundleKDError
    from bundlekd.files import read_json
    from bundlekd.knowledge_base.grouping.tool import tool_path

    try:
        value = read_json(tool_path(kb_dir))["metadata"]["fitted_on"]["train_hash"]
    except (BundleKDError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _choose_shared(
    sessions: Sequence[Session], matrices: Sequence[np.ndarray], bar: Sequence[Any]
) -> tuple[Any, dict[str, tuple[float, float]]]:
    from bundlekd.eval.metrics import HEADLINE, aggregate_all, score_session
    from bundlekd.knowledge_base.grouping.cluster import group_items
    from bundlekd.knowledge_base.grouping.tool import GroupSettings

    floor = {t.domain: (t.precision, t.recall) for t in bar}
    domains = sorted(floor)
    best: tuple[tuple[float, float], GroupSettings, dict[str, tuple[float, float]]] | None = None
    for policy in LEARNED_POLICIES:
        for threshold in LEARNED_THRESHOLDS:
            settings = GroupSettings(policy=policy, threshold=float(threshold))
            scores: dict[str, tuple[float, float]] = {}
            for domain in domains:
                per_session = []
                for session, matrix in zip(sessions, matrices, strict=True):
                    if session.domain != domain:
                        continue
                    groups = group_items(matrix, policy, threshold)
                    predicted = [tuple(session.items[k].item_id for k in g) for g in groups]
                    gold = [b.items for b in session.bundles or ()]
                    per_session.append(score_session(predicted, gold, parsed=True))
                head = aggregate_all(per_session)[HEADLINE]
                scores[domain] = (head.precision, head.recall)
            margin = min(
                min(scores[d][0] - floor[d][0], scores[d][1] - floor[d][1]) for d in domains
            )
            mean = float(np.mean([p + r for p, r in scores.values()]))
            key = (margin, mean)
            if best is None or key > best[0]:
                best = (key, settings, scores)
    assert best is not None
    logger.info("tool settings %s: val margin over clustering %.3f", best[1], best[0][0])
    return best[1], best[2]
