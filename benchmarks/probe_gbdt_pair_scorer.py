"""Val only: would a gradient-boosted pair scorer beat the logistic regression? No test read.

    BUNDLEKD_DATA_DIR=../shared/data/bundles python benchmarks/probe_gbdt_pair_scorer.py KB

KB: a pooled KB with the default learned tool. Featurises every training pair as the fitter
does (each session left out of the memory, pooled with the domain one-hot), fits two
HistGradientBoosting models, then scores the val pairs with the KB's logistic regression and
with them: pair AUC / log loss, and the tool's own val search (`choose_settings`, the bar the
KB recorded) at guard tolerance 0.05 and 0. Result (2026-12): docs/results/WHOLE_BUNDLES.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

SHOWN = ("precision", "recall", "exact_precision", "exact_recall", "gjs", "pair_f1")
MODELS: dict[str, dict[str, Any]] = {
    "gbdt": {"max_iter": 300, "max_leaf_nodes": 31, "min_samples_leaf": 40, "l2_regularization": 1},
    "gbdt-small": {"max_iter": 150, "max_leaf_nodes": 15, "min_samples_leaf": 80},
}


def _pair_labels(sessions: list[Any], matrices: list[np.ndarray]) -> tuple[list[float], list[int]]:
    scores, labels = [], []
    for session, matrix in zip(sessions, matrices, strict=True):
        together = {
            (session.position(a) - 1, session.position(b) - 1)
            for bundle in session.bundles
            for a in bundle.items
            for b in bundle.items
        }
        n = len(session.items)
        for i in range(n):
            for j in range(i + 1, n):
                scores.append(float(matrix[i, j]))
                labels.append(int((i, j) in together))
    return scores, labels


def main() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import log_loss, roc_auc_score

    from bundlekd.app.components import grouping_tool, open_kb
    from bundlekd.app.tool_choice import choose_settings
    from bundlekd.data.sources import load_sessions
    from bundlekd.knowledge_base.config import KBConfig
    from bundlekd.knowledge_base.grouping.features import pair_features
    from bundlekd.knowledge_base.grouping.learned import _session_rows, _titles, with_domain
    from bundlekd.llm.config import EmbedderConfig

    kb_dir = Path(sys.argv[1])
    tool = grouping_tool(open_kb(KBConfig(dir=kb_dir), EmbedderConfig()))
    scorer: Any = tool.scorer
    domains = scorer.domains
    train = [s for s in load_sessions("aicl", split="train") if s.bundles]
    val = [s for s in load_sessions("aicl", split="val") if s.bundles]
    rows, labels = [], []
    for session, block in zip(train, tool.embed(train), strict=True):
        features, targets = _session_rows(session, block, scorer.memories[session.domain])
        rows.append(with_domain(features, session.domain, domains))
        labels.append(targets)
    x, y = np.concatenate(rows), np.concatenate(labels)
    print(f"{len(y)} training pairs, {int(y.sum())} bundled")
    matrices = {"logistic (the tool)": tool.score([s.public() for s in val])[1]}
    blocks = tool.embed(val)
    for name, options in MODELS.items():
        model = HistGradientBoostingClassifier(random_state=0, learning_rate=0.05, **options)
        model.fit(x, y)
        found = []
        for session, block in zip(val, blocks, strict=True):
            memory = scorer.memories[session.domain]
            features, pairs = pair_features(block, _titles(session.public()), memory, None)
            matrix = np.eye(len(block))
            if pairs:
                p = model.predict_proba(with_domain(features, session.domain, domains))[:, 1]
                first, second = np.array(pairs).T
                matrix[first, second] = p
                matrix[second, first] = p
            found.append(matrix)
        matrices[name] = found
    with (kb_dir / "tool" / "tool.json").open() as handle:
        bar = json.load(handle)["metadata"]["val_clustering_bar"]
    for name, found in matrices.items():
        scores, truth = _pair_labels(val, found)
        clipped = np.clip(scores, 1e-6, 1 - 1e-6)
        auc, loss = roc_auc_score(truth, scores), log_loss(truth, clipped)
        print(f"{name}: val pair AUC {auc:.4f}, log loss {loss:.4f}")
        for tolerance in (0.05, 0.0):
            chosen = choose_settings(val, found, bar, tolerance=tolerance)
            settings = chosen.settings
            mean = np.mean([v["gjs"] for v in chosen.scores.values()])
            print(
                f"  tolerance {tolerance}: {settings.policy} t {settings.threshold} member "
                f"{settings.member_floor} bundle {settings.bundle_floor}, guard met "
                f"{chosen.guard_met}, mean val GJS {mean:.3f}"
            )
            for domain, values in sorted(chosen.scores.items()):
                print(f"    {domain:<10} " + " ".join(f"{k} {values[k]:.3f}" for k in SHOWN))


if __name__ == "__main__":
    main()
