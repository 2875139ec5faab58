"""Fit the grouping tool of a KB: scorer on training sessions, grouping settings on val.

The test split is never read here. The result is saved under the KB folder (`tool/tool.json`)
with what it was fitted and tuned on, and the validation scores it reached.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bundlekd.data.leakage import check_sessions

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
) -> GroupingTool:
    """Build the tool from the KB's exemplars, fit its scorer on `train`, tune on `val`, save.

    Raises:
        LeakageError: test sessions or sessions without a split in `train` or `val`, or
            non-training sessions in `train` (the guard is `bundlekd.data.leakage`).
        DataError: no labelled validation sessions.
    """
    from bundlekd.baselines.cluster import labelled_val, tune_grouping
    from bundlekd.files import canonical_hash
    from bundlekd.knowledge_base.grouping.scorers import CosineScorer
    from bundlekd.knowledge_base.grouping.tool import GroupingTool, GroupSettings

    check_sessions(
        train, use="fitting the grouping tool's scorer", allowed=("train",), can_force=False
    )
    labelled = labelled_val(val)
    if scorer != "cosine":
        raise NotImplementedError(scorer)
    pair_scorer = CosineScorer()
    tool = GroupingTool(embedder, kb.item_memory(embedder, write_cache=True), scorer=pair_scorer)
    _, matrices = tool.score(labelled)
    tuned = tune_grouping(labelled, matrices, fallback_pair)
    tool.settings = {
        t.domain: GroupSettings(
            linkage=t.settings.linkage, threshold=t.settings.threshold, fallback_pair=fallback_pair
        )
        for t in tuned
    }
    metadata: dict[str, Any] = {
        "fitted_on": {
            "train_sessions": len(train),
            "train_hash": canonical_hash(sorted(s.key for s in train)),
        },
        "tuned_on": {
            "val_sessions": len(labelled),
            "val_hash": canonical_hash(sorted(s.key for s in labelled)),
            "objective": "mean of strict precision and strict unique recall (2025)",
        },
        "val_scores": {
            t.domain: {"precision": t.precision, "recall": t.recall, "n": t.n_sessions}
            for t in tuned
        },
        "exemplars": len(tool.memory.exemplar_ids),
    }
    tool.metadata = metadata
    tool.save(kb.kb_dir)
    logger.info("grouping tool saved in %s: %s", kb.kb_dir, tool.describe())
    return tool
