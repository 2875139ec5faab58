"""The pair floor."""

from __future__ import annotations

from bundlekd.baselines.pair import predict_pairs
from bundlekd.data.schema import Item, Session
from bundlekd.data.sources import load_sessions


def test_products_one_and_two() -> None:
    sessions = load_sessions("sample", split="test")
    predictions = predict_pairs(sessions)
    assert [p.session_id for p in predictions] == [s.session_id for s in sessions]
    for prediction, session in zip(predictions, sessions, strict=True):
        assert prediction.parsed
        assert prediction.method == "pair"
        assert prediction.domain == session.domain
        (bundle,) = prediction.bundles
        assert bundle.items == (session.items[0].item_id, session.items[1].item_id)


def test_single_item_session_gets_no_bundle() -> None:
    lonely = Session(session_id="1", domain="d", items=(Item(item_id="a", title="A"),))
    (prediction,) = predict_pairs([lonely])
    assert prediction.bundles == ()
    assert prediction.parsed
