"""Knowledge that goes live on the real parts: AICL food, MiniLM, FAISS on disk, the learned
tool. A KB distilled from 5 % of food's training sessions; a correction of a training session
it does not hold, posted to the service, is the next answer; `kb rollback` restores the old
one, bundle for bundle."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from service_helpers import client_for
from typer.testing import CliRunner

from bundlekd.cli import app
from bundlekd.data.sources import load_sessions
from bundlekd.knowledge_base.kb import KnowledgeBase


def _items(client: Any, session: dict[str, Any]) -> list[list[str]]:
    answer = client.post("/v1/bundles", json={"session": session})
    assert answer.status_code == 200, answer.text
    return [b["items"] for b in answer.json()["predictions"][0]["bundles"]]


def test_a_correction_goes_live_on_the_real_kb_and_rollback_restores(
    data_dir: Path, tmp_path: Path
) -> None:
    kb_dir = tmp_path / "kb"
    distilled = CliRunner().invoke(
        app,
        [
            "distill", "--source", "aicl", "--data-dir", str(data_dir), "--domain", "food",
            "--kinds", "exemplar", "--ratio", "0.05", "--kb", str(kb_dir),
        ],
    )  # fmt: skip
    assert distilled.exit_code == 0, distilled.output
    held = {
        s for i in KnowledgeBase.open(kb_dir, read_only=True).items() for s in i.source_session_ids
    }
    train = load_sessions("aicl", domains=["food"], split="train", data_dir=data_dir)
    target = next(s for s in train if s.session_id not in held and len(s.items) >= 4)
    items = [{"item_id": i.item_id, "title": i.title} for i in target.items]
    session = {"session_id": target.session_id, "domain": "food", "items": items}
    everything = [i["item_id"] for i in items]
    with client_for(kb_dir, knowledge_poll_s=0.05) as client:
        before = _items(client, session)
        label = (
            everything if sorted(map(sorted, before)) != [sorted(everything)] else everything[:2]
        )
        sent = time.perf_counter()
        posted = client.post(
            "/v1/feedback", json={"session": session, "bundles": [{"items": label}]}
        )
        assert posted.status_code == 200, posted.text
        assert posted.json()["live"] is True
        assert _items(client, session) == [label]
        print(f"label live after {1000 * (time.perf_counter() - sent):.0f} ms")
        KnowledgeBase.open(kb_dir).rollback()
        deadline = time.monotonic() + 20
        while _items(client, session) != before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _items(client, session) == before
