"""The shipped sample dataset: counts, splits, bundle sanity, and no labels outside train."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources

from bundlekd.data.schema import Session

DOMAINS = ("clothing", "electronic", "food")


def _rows() -> list[dict]:
    text = resources.files("bundlekd.sample_data").joinpath("sessions.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_counts_and_splits() -> None:
    rows = _rows()
    assert len(rows) == 60
    counts = Counter((row["domain"], row["split"]) for row in rows)
    for domain in DOMAINS:
        assert (counts[(domain, "train")], counts[(domain, "val")], counts[(domain, "test")]) == (
            12,
            4,
            4,
        )
    assert len({(row["domain"], row["session_id"]) for row in rows}) == 60


def test_every_line_is_a_valid_session_with_sane_bundles() -> None:
    sizes = []
    for row in _rows():
        session = Session.model_validate(row)  # unique items, bundles within the session
        sizes.append(len(session.items))
        assert 2 <= len(session.items) <= 10
        assert 1 <= len(session.bundles or ()) <= 3
        ids = {item.item_id for item in session.items}
        for bundle in session.bundles or ():
            assert 2 <= len(bundle.items) <= 5
            assert set(bundle.items) <= ids
            assert bundle.intent.strip()
        for item in session.items:
            assert item.item_id[0] == session.domain[0].upper()
            assert item.title.strip()
    assert 5.0 <= sum(sizes) / len(sizes) <= 7.0


def test_categories_only_on_train_items() -> None:
    """Label leak rule (DESIGN.md §2): val/test items carry no categories."""
    for row in _rows():
        has_categories = [bool(item.get("categories")) for item in row["items"]]
        if row["split"] == "train":
            assert all(has_categories), row["session_id"]
        else:
            assert not any(has_categories), row["session_id"]


def test_items_recur_and_some_are_in_no_bundle() -> None:
    rows = _rows()
    uses = Counter((row["domain"], item["item_id"]) for row in rows for item in row["items"])
    assert sum(1 for n in uses.values() if n >= 3) >= 20
    unbundled = sum(
        len({i["item_id"] for i in row["items"]} - {x for b in row["bundles"] for x in b["items"]})
        for row in rows
    )
    assert unbundled >= 20
    # One item id means one product: the same title wherever it appears.
    titles: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        for item in row["items"]:
            titles.setdefault((row["domain"], item["item_id"]), set()).add(item["title"])
    assert all(len(t) == 1 for t in titles.values())
