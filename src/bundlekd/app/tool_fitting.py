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
) -> GroupingTool:
    """Build the tool from the KB's exemplars, fit its scorer on `train`, tune on `val`, save.

    `features` limits the learned scorer to these feature groups (default all).

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

    check_sessions(
        train, use="fitting the grouping tool's scorer", allowed=("train",), can_force=False
    )
    if scorer not in ("cosine", "learned"):
        raise ConfigError(f"unknown tool scorer {scorer!r}: cosine or learned")
    labelled = labelled_val(val)
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
        **({"feature_groups": list(features)} if features is not None else {}),
    }
    tool.save(kb.kb_dir)
    logger.info("grouping tool saved in %s: %s", kb.kb_dir, tool.describe())
    return tool


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
