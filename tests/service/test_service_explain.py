"""`POST /v1/bundles?explain=true`: the grouping tool's evidence per prediction, only when asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from service_helpers import client_for, session_body

from bundlekd.app.service.explanations import explain_predictions
from bundlekd.data.schema import Item, Prediction, Session


def _session(body: dict) -> Session:
    items = tuple(Item(item_id=i["item_id"], title=i["title"]) for i in body["items"])
    return Session(session_id=body["session_id"], domain=body["domain"], items=items)


def test_the_explanation_appears_only_when_asked(tiny_kb: Path) -> None:
    with client_for(tiny_kb) as client:
        plain = client.post("/v1/bundles", json={"session": session_body()})
        asked = client.post("/v1/bundles?explain=true", json={"session": session_body()})
        off = client.post("/v1/bundles?explain=false", json={"session": session_body()})
    assert plain.status_code == asked.status_code == off.status_code == 200
    assert "explanation" not in plain.json()["predictions"][0]
    assert "explanation" not in off.json()["predictions"][0]
    (prediction,) = asked.json()["predictions"]
    explanation = prediction["explanation"]
    assert explanation["session_id"] == "s1"
    # it explains the bundles the prediction returns
    assert [b["positions"] for b in explanation["bundles"]] == [
        b["positions"] for b in prediction["bundles"]
    ]
    assert [b["intent"] for b in explanation["bundles"]] == [
        b["intent"] for b in prediction["bundles"]
    ]
    assert explanation["knowledge_ids"] == prediction["knowledge_ids"]
    # the rest of the answer is what it is without the flag
    without = {k: v for k, v in prediction.items() if k != "explanation"}
    assert without == plain.json()["predictions"][0]


def test_the_explanation_carries_the_tools_own_numbers(tiny_kb: Path) -> None:
    from bundlekd.knowledge_base.kb import KnowledgeBase

    body = session_body()
    with client_for(tiny_kb) as client:
        answer = client.post("/v1/bundles?explain=true", json={"session": body}).json()
    explanation = answer["predictions"][0]["explanation"]
    tool = KnowledgeBase.open(tiny_kb, read_only=True).grouping_tool()
    session = _session(body)
    (matrix,) = tool.score([session])[1]
    assert np.allclose(np.array(explanation["scores"]), matrix, rtol=0, atol=1e-12)
    assert explanation["decoding"]["settings"] == tool.settings["electronic"].model_dump()
    assert explanation["decoding"]["scale"] == "cosine"  # the sample KB's tool
    expected_val = tool.metadata["val_scores"]["electronic"]
    assert explanation["decoding"]["val_scores"]["precision"] == expected_val["precision"]
    groups = tool.group(session, matrix)
    assert explanation["tool_groups"] == [[p + 1 for p in g] for g in groups]
    for bundle in explanation["bundles"]:
        for member in bundle["members"]:
            for link in member["links"]:
                assert link["score"] == float(matrix[link["a"] - 1, link["b"] - 1])


def test_a_refused_session_has_no_explanation_and_the_others_do(tiny_kb: Path) -> None:
    good = session_body("ok")
    bad = {**session_body("too-many"), "domain": "electronic"}
    bad["items"] = [{"item_id": f"x{k}", "title": f"item {k}"} for k in range(12)]
    with client_for(tiny_kb, max_items=10) as client:
        answer = client.post("/v1/bundles?explain=true", json={"sessions": [good, bad]})
    assert answer.status_code == 200
    first, second = answer.json()["predictions"]
    assert first["explanation"]["session_id"] == "ok"
    assert second["error"] is not None
    assert second["explanation"] is None


def test_the_flag_is_in_the_published_schema(tiny_kb: Path) -> None:
    with client_for(tiny_kb) as client:
        schema = client.get("/openapi.json").json()
    parameters = schema["paths"]["/v1/bundles"]["post"]["parameters"]
    assert [(p["name"], p["in"], p["schema"]["type"]) for p in parameters] == [
        ("explain", "query", "boolean")
    ]
    assert "ExplanationOut" in schema["components"]["schemas"]


def test_a_mode_without_the_grouping_tool_gives_no_explanation() -> None:
    class Student:  # a student agent has no proposer
        pass

    session = _session(session_body())
    prediction = Prediction(session_id="s1", domain="electronic")
    assert explain_predictions(Student(), [session], [prediction]) == [None]
