"""Cross-fitting of the learned scorer (the study's `both`) and the coverage-floor choice."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bundlekd.app import tool_fitting
from bundlekd.data.schema import Bundle, Item, Session
from bundlekd.errors import ConfigError
from bundlekd.knowledge_base.grouping import learned
from bundlekd.knowledge_base.grouping.crossfit import fold_of, out_of_fold, split_folds


def _session(sid: str, domain: str, n: int, bundles: list[list[int]]) -> Session:
    items = tuple(Item(item_id=f"{sid}-{i}", title=f"{sid} title {i}") for i in range(n))
    return Session(
        session_id=sid,
        domain=domain,
        items=items,
        bundles=tuple(Bundle(items=tuple(f"{sid}-{i}" for i in b), intent="i") for b in bundles),
        split="train" if sid.startswith("t") else "val",
    )


TRAIN = [_session(f"t{k}", ("electronic", "food")[k % 2], 3, [[0, 1]]) for k in range(40)]


def test_folds_partition_the_sessions_and_never_depend_on_the_sample() -> None:
    folds = split_folds(TRAIN, 3)
    assert sorted(s.key for f in folds for s in f) == sorted(s.key for s in TRAIN)
    assert all(folds)  # 40 sessions: every fold gets some
    for k, fold in enumerate(folds):
        tuned_on = {s.key for s in out_of_fold(TRAIN, k, 3)}
        assert not tuned_on & {s.key for s in fold}
        assert tuned_on | {s.key for s in fold} == {s.key for s in TRAIN}
    sample = TRAIN[::3]  # a ratio sample keeps each session's fold
    assert [fold_of(s.key, 3) for s in sample] == [fold_of(s.key, 3) for s in TRAIN[::3]]
    assert split_folds(sample, 3)[1] == [s for s in folds[1] if s in sample]
    with pytest.raises(ValueError):
        split_folds(TRAIN, 1)


class _FoldEmbedder:
    """Embeds any title; remembers which sessions it was 'tuned' on and what it embedded."""

    def __init__(self, fold: int, folds: int) -> None:
        self.model_id = f"fold{fold}"
        self.tuned_on = {s.key for s in out_of_fold(TRAIN, fold, folds)}
        self.embedded: list[str] = []

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return np.ones((len(texts), 4), dtype=np.float32) / 2.0


@dataclass
class _KB:
    calls: list[str]

    def scorer_memories(self, embedder: Any) -> dict[str, Any]:
        self.calls.append(embedder.model_id)
        return {"electronic": embedder.model_id, "food": embedder.model_id}


def test_no_training_row_is_featurised_by_an_embedder_tuned_on_its_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def fake_fit(parts: Any, memories: Any, **_: Any) -> str:
        seen["parts"], seen["memories"] = parts, memories
        return "scorer"

    monkeypatch.setattr(learned, "fit_learned_scorer_parts", fake_fit)
    embedders = [_FoldEmbedder(k, 2) for k in range(2)]
    kb = _KB([])
    scorer, record = tool_fitting._cross_fitted_scorer(
        kb,  # type: ignore[arg-type]
        TRAIN,
        {"electronic": "full"},
        embedders,  # type: ignore[arg-type]
        None,
        lambda done, total: None,
    )
    assert scorer == "scorer"
    assert seen["memories"] == {"electronic": "full"}
    assert record["cross_fitted"]
    assert record["fold_embedders"] == ["fold0", "fold1"]
    assert sum(record["fold_sessions"]) == len(TRAIN)
    assert kb.calls == ["fold0", "fold1"]  # each fold's memory is its own embedder's
    rows = 0
    for embedder, part in zip(embedders, seen["parts"], strict=True):
        keys = {s.key for s in part.sessions}
        assert not keys & embedder.tuned_on
        assert set(part.memories.values()) == {embedder.model_id}
        assert len(part.vectors) == len(part.sessions)
        own_titles = {i.title for s in part.sessions for i in s.items}
        assert set(embedder.embedded) == own_titles
        rows += len(keys)
    assert rows == len(TRAIN)


def _scores(n: int, pairs: dict[tuple[int, int], float]) -> np.ndarray:
    matrix = np.eye(n)
    for (i, j), value in pairs.items():
        matrix[i, j] = matrix[j, i] = value
    return matrix


# Whole bundle {0,1,2}: only a loose cut covers it; the loose cut breaks the second session.
VAL = [
    _session("v1", "food", 3, [[0, 1, 2]]),
    _session("v2", "food", 3, [[0, 1]]),
]
MATRICES = [
    _scores(3, {(0, 1): 0.95, (0, 2): 0.6, (1, 2): 0.6}),
    _scores(3, {(0, 1): 0.95, (0, 2): 0.65, (1, 2): 0.65}),
]


def test_the_coverage_floor_trades_precision_for_the_bars_coverage() -> None:
    from bundlekd.app.tool_choice import choose_settings

    bar = {"food": {"precision": 0.5, "recall": 0.5, "coverage": 0.9}}
    free = choose_settings(VAL, MATRICES, bar, objective="pr")
    free_scores = free.scores["food"]
    assert (free_scores["precision"], free_scores["recall"]) == (1.0, 1.0)
    assert free_scores["coverage"] == pytest.approx((2 / 3 + 1) / 2)
    floored = choose_settings(VAL, MATRICES, bar, objective="pr", coverage_floor=True)
    assert floored.scores["food"]["coverage"] >= 0.9
    assert (floored.scores["food"]["precision"], floored.scores["food"]["recall"]) == (0.5, 0.5)
    assert floored.settings.policy != "pairs"
    assert floored.settings.threshold <= 0.6
    # no setting reaches an unreachable floor: the best margin wins, as without one
    unreachable = {"food": {"precision": 0.5, "recall": 0.5, "coverage": 1.01}}
    again = choose_settings(VAL, MATRICES, unreachable, objective="pr", coverage_floor=True)
    assert again.settings == free.settings


def test_a_cross_fitted_tool_is_fitted_saved_and_used_for_real(tmp_path: Path) -> None:
    from bundlekd.data.sources import load_sample
    from bundlekd.knowledge_base.distill.runner import distill
    from bundlekd.knowledge_base.kb import KnowledgeBase

    sample = load_sample()
    train, val = sample.split("train"), sample.split("val")
    kb = KnowledgeBase.create(tmp_path / "kb", embedder="hashing", index="numpy")
    distill(train, kinds=["exemplar"], kb_dir=kb.kb_dir, kb=kb)
    tool = tool_fitting.fit_tool(
        kb, train, val, kb.embedder, scorer="learned", fold_embedders=[kb.embedder] * 2
    )
    record = tool.metadata["cross_fit"]
    assert record["cross_fitted"] is True
    assert record["folds"] == 2
    assert sum(record["fold_sessions"]) == len(train)
    assert {"precision", "recall", "coverage", "gjs"} <= set(
        tool.metadata["val_scores"][val[0].domain]
    )
    assert tool.metadata["chosen_by"]["objective"] == "gjs"
    saved = kb.grouping_tool()
    assert saved.metadata["cross_fit"] == record
    proposals = saved.propose(val[:3])
    assert len(proposals) == 3
    with pytest.raises(ConfigError, match="learned"):
        tool_fitting.fit_tool(kb, train, val, kb.embedder, fold_embedders=[kb.embedder] * 2)
    with pytest.raises(ConfigError, match="at least 2 folds"):
        tool_fitting.fit_tool(
            kb, train, val, kb.embedder, scorer="learned", fold_embedders=[kb.embedder]
        )
