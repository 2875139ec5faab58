"""Intent quality: only hit bundles are scored, against the closest GT intent."""

from __future__ import annotations

import pytest

from bundlekd.data.schema import Bundle, Item, Prediction, Session
from bundlekd.eval.evaluator import evaluate
from bundlekd.eval.intents import IntentScorer, hit_intents
from bundlekd.llm.embeddings import HashingEmbedder


def _session() -> Session:
    items = tuple(Item(item_id=str(i), title=f"t{i}") for i in range(5))
    bundles = (
        Bundle(items=("0", "1", "2"), intent="Camera accessories"),
        Bundle(items=("1", "2"), intent="Memory cards"),
    )
    return Session(session_id="s", domain="d", items=items, bundles=bundles, split="test")


def test_hits_are_compared_with_every_containing_gt_bundle() -> None:
    session = _session()
    pred = (Bundle(items=("1", "2"), intent="memory card"), Bundle(items=("3", "4"), intent="x"))
    hits = hit_intents(pred, session.bundles or ())
    assert len(hits) == 1  # (3, 4) is in no GT bundle: its intent is not scored
    assert hits[0].gold == ("Camera accessories", "Memory cards")
    (row,) = IntentScorer(HashingEmbedder(), judge=lambda pairs: [1.0] * len(pairs)).score(hits)
    assert row["rouge_l"] == pytest.approx(1.0)  # stemmed: "memory card" = "Memory cards"
    assert row["judge"] == 1.0
    assert 0.0 <= row["cosine"] <= 1.0


def test_evaluate_reports_intent_similarity_per_group() -> None:
    session = _session()
    good = Prediction(
        session_id="s", domain="d", bundles=(Bundle(items=("0", "1"), intent="Camera accessories"),)
    )
    report = evaluate([good], [session], intent_scorer=IntentScorer(HashingEmbedder()))
    summary = report.group().intents
    assert summary is not None
    assert summary.n_hits == 1
    assert summary.cosine == pytest.approx(1.0, abs=1e-5)
    assert evaluate([good], [session]).group().intents is None


def test_a_method_that_names_nothing_has_no_intent_score() -> None:
    session = _session()
    unnamed = Prediction(session_id="s", domain="d", bundles=(Bundle(items=("0", "1"), intent=""),))
    report = evaluate([unnamed], [session], intent_scorer=IntentScorer(HashingEmbedder()))
    assert report.group().intents is None
    assert report.group().headline.precision == 1.0  # the bundle itself still counts
