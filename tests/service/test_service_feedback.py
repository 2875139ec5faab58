"""Knowledge that goes live: a label posted to a running service changes its next answer, with
no restart, and `kb rollback` of it (from another process) restores the previous answer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from service_helpers import client_for, session_body

from bundlekd.data.sources import load_sample


def _bundles(client: Any, session: dict[str, Any]) -> list[list[str]]:
    response = client.post("/v1/bundles", json={"session": session})
    assert response.status_code == 200, response.text
    return [b["items"] for b in response.json()["predictions"][0]["bundles"]]


def _own_session(session_id: str = "shop-1") -> dict[str, Any]:
    """A session of one's own: a sample test session's items under a new id and no split
    would still be refused (known test titles), so use the sample's train titles."""
    train = next(s for s in load_sample().split("train") if s.domain == "electronic")
    items = [{"item_id": f"x{k}", "title": i.title} for k, i in enumerate(train.items)]
    return {"session_id": session_id, "domain": "electronic", "items": items}


def _correction(session: dict[str, Any], before: list[list[str]]) -> list[dict[str, Any]]:
    """A label that differs from the answer: every item in one bundle, or the first two."""
    ids = [i["item_id"] for i in session["items"]]
    wanted = ids if sorted(map(sorted, before)) != [sorted(ids)] else ids[:2]
    return [{"items": wanted, "intent": "my whole kit"}]


def test_a_correction_is_the_next_answer_and_rollback_restores_the_old(kb_dir: Path) -> None:
    from bundlekd.knowledge_base.kb import KnowledgeBase

    session = _own_session()
    with client_for(kb_dir, knowledge_poll_s=0.05) as client:
        before = _bundles(client, session)
        label = _correction(session, before)
        sent = time.perf_counter()
        posted = client.post(
            "/v1/feedback", json={"session": session, "bundles": label, "author": "ana"}
        )
        assert posted.status_code == 200, posted.text
        body = posted.json()
        assert body["live"] is True
        assert body["added"] >= 1
        assert body["ids"]
        after = _bundles(client, session)
        assert time.perf_counter() - sent < 10  # generous: the tiny KB reloads in ms
        assert after == [label[0]["items"]]
        answer = client.post("/v1/bundles", json={"session": session}).json()
        assert answer["predictions"][0]["bundles"][0]["intent"] == "my whole kit"
        # the same label again changes nothing and stays acknowledged
        again = client.post("/v1/feedback", json={"session": session, "bundles": label})
        assert again.status_code == 200
        assert again.json()["added"] == 0
        assert again.json()["unchanged"] >= 1

        # another process undoes it: the watcher picks the commit up without a restart
        history = KnowledgeBase.open(kb_dir, read_only=True).history()
        assert history[-1]["op"] == "feedback"  # the no-op repeat is not logged
        seq = client.get("/ready").json()["kb_seq"]
        assert seq == body["last_seq"]
        KnowledgeBase.open(kb_dir).rollback()
        deadline = time.monotonic() + 10
        while _bundles(client, session) != before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _bundles(client, session) == before
        assert client.get("/ready").json()["kb_seq"] == seq + 1  # the rollback's operation


def test_feedback_records_provenance_and_is_one_undoable_operation(kb_dir: Path) -> None:
    from bundlekd.knowledge_base.kb import KnowledgeBase

    session = _own_session("shop-2")
    with client_for(kb_dir) as client:
        label = _correction(session, _bundles(client, session))
        posted = client.post(
            "/v1/feedback", json={"session": session, "bundles": label, "author": "ana"}
        )
    assert posted.status_code == 200, posted.text
    kb = KnowledgeBase.open(kb_dir, read_only=True)
    (item,) = [kb.get(i) for i in posted.json()["ids"]]
    assert item is not None
    assert item.kind == "exemplar"
    assert item.source_session_ids == ("shop-2",)
    assert item.source_splits == ("train",)
    assert item.stats["feedback"]["author"] == "ana"
    assert item.stats["feedback"]["source"] == "api"
    assert item.stats["titles"] == [
        next(i["title"] for i in session["items"] if i["item_id"] == x) for x in label[0]["items"]
    ]
    assert kb.history()[-1]["op"] == "feedback"


def test_feedback_refuses_test_sessions_and_items_not_in_the_session(
    kb_dir: Path,
) -> None:
    sample = next(s for s in load_sample().split("test") if s.domain == "electronic")
    test_session = session_body(sample.session_id)  # a known test session, under its own id
    ids = [i["item_id"] for i in test_session["items"]]
    with client_for(kb_dir) as client:
        leak = client.post(
            "/v1/feedback", json={"session": test_session, "bundles": [{"items": ids[:2]}]}
        )
        unknown = client.post(
            "/v1/feedback",
            json={"session": _own_session(), "bundles": [{"items": ["x0", "nope"]}]},
        )
        single = client.post(
            "/v1/feedback", json={"session": _own_session(), "bundles": [{"items": ["x0"]}]}
        )
    assert leak.status_code == 422, leak.text
    assert "test" in leak.text
    assert unknown.status_code == 422
    assert "not in the session" in unknown.text
    assert single.status_code == 422


def test_the_explanation_of_a_labelled_session_names_who_labelled_it(kb_dir: Path) -> None:
    session = _own_session("shop-3")
    with client_for(kb_dir) as client:
        label = _correction(session, _bundles(client, session))
        posted = client.post(
            "/v1/feedback", json={"session": session, "bundles": label, "author": "ana"}
        )
        assert posted.status_code == 200, posted.text
        explained = client.post("/v1/bundles?explain=true", json={"session": session})
    assert explained.status_code == 200, explained.text
    decoding = explained.json()["predictions"][0]["explanation"]["decoding"]
    assert decoding["labelled"]["author"] == "ana"
    assert decoding["labelled"]["source"] == "api"


def test_an_exemplar_row_on_v1_knowledge_says_the_tool_cannot_use_it(kb_dir: Path) -> None:
    row = {
        "kind": "exemplar",
        "text": 'Bought together for "kit": a | b',
        "domain": "electronic",
        "source_splits": ["train"],
    }
    with client_for(kb_dir) as client:
        answer = client.post("/v1/knowledge", json={"items": [row]})
    assert answer.status_code == 200, answer.text
    (warning,) = answer.json()["warnings"]
    assert "/v1/feedback" in warning
