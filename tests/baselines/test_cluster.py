"""`baseline cluster`: tuned on val only, deterministic groups, the fallback pair."""

from __future__ import annotations

import numpy as np
import pytest

from bundlekd.baselines.cluster import ClusterBaseline, ClusterSettings
from bundlekd.data.sources import load_sample
from bundlekd.errors import LeakageError
from bundlekd.knowledge_base.grouping.cluster import best_pair, cluster_groups
from bundlekd.llm.embeddings import HashingEmbedder


def test_cluster_groups_cut_at_the_threshold_and_fall_back_to_the_best_pair() -> None:
    scores = np.array(
        [[1, 0.9, 0.1, 0.2], [0.9, 1, 0.2, 0.1], [0.1, 0.2, 1, 0.5], [0.2, 0.1, 0.5, 1.0]]
    )
    assert cluster_groups(scores, 0.6) == [[0, 1]]
    assert cluster_groups(scores, 0.5) == [[0, 1], [2, 3]]
    assert cluster_groups(scores, 0.95) == [[0, 1]]  # nothing clusters: the best pair
    assert cluster_groups(scores, 0.95, fallback_pair=False) == []
    assert best_pair(np.ones((3, 3))) == (0, 1)  # ties go to session order
    assert cluster_groups(np.ones((1, 1)), 0.5) == []


def test_tuning_reads_val_only_and_predicts_every_session() -> None:
    dataset = load_sample()
    baseline = ClusterBaseline(HashingEmbedder())
    with pytest.raises(LeakageError):
        baseline.tune(dataset.split("test"))
    results = baseline.tune(dataset.split("val"))
    assert {r.domain for r in results} == {"clothing", "electronic", "food"}
    assert all(isinstance(r.settings, ClusterSettings) for r in results)
    test = dataset.split("test")
    predictions = baseline.predict(test)
    assert len(predictions) == len(test)
    assert all(p.bundles for p in predictions)  # the fallback pair: never an empty answer
    assert [p.bundles for p in predictions] == [p.bundles for p in baseline.predict(test)]
    no_fallback = ClusterBaseline(
        HashingEmbedder(), fallback_pair=False, default=ClusterSettings(threshold=0.99)
    )
    assert no_fallback.method == "cluster"
    assert any(not p.bundles for p in no_fallback.predict(test))
