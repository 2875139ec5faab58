"""The learned pair scorer limited to feature groups (the study's format ablations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bundlekd.data.sources import load_sample
from bundlekd.errors import KnowledgeBaseError
from bundlekd.knowledge_base.distill.runner import distill
from bundlekd.knowledge_base.grouping.features import FEATURE_GROUPS, FEATURE_NAMES
from bundlekd.knowledge_base.grouping.learned import feature_mask, fit_learned_scorer
from bundlekd.knowledge_base.kb import KnowledgeBase


def test_groups_cover_every_feature_once() -> None:
    names = [name for group in FEATURE_GROUPS.values() for name in group]
    assert sorted(names) == sorted(FEATURE_NAMES)
    assert len(names) == len(FEATURE_NAMES)
    with pytest.raises(KnowledgeBaseError, match="choose one or more of"):
        feature_mask(["memory", "nope"])


def test_a_scorer_fitted_on_some_groups_gives_the_others_no_weight(tmp_path: Path) -> None:
    train = load_sample().split("train")
    kb = KnowledgeBase.create(tmp_path / "kb", embedder="hashing", index="numpy")
    distill(train, kinds=["exemplar"], kb_dir=kb.kb_dir, kb=kb)
    memories = kb.scorer_memories(kb.embedder)
    vectors = [kb.embedder.embed_batch([i.title for i in s.public().items]) for s in train]

    scorer = fit_learned_scorer(train, memories, vectors, groups=["cosine", "memory"])
    (model,) = scorer.models.values()
    coef = model.coef[: len(FEATURE_NAMES)]
    used = {FEATURE_NAMES[k] for k in np.flatnonzero(coef)}
    assert used <= set(FEATURE_GROUPS["cosine"]) | set(FEATURE_GROUPS["memory"])
    assert used & set(FEATURE_GROUPS["memory"])  # the memory features did get weights
    full = fit_learned_scorer(train, memories, vectors)
    assert np.count_nonzero(next(iter(full.models.values())).coef) > len(used)
    # same width either way: the saved format does not depend on the groups
    assert len(model.coef) == len(next(iter(full.models.values())).coef)
    matrices = scorer.score(train[:2], vectors[:2])
    assert all(np.all((m >= 0) & (m <= 1)) for m in matrices)
