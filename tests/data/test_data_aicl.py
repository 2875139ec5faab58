"""The AICL split loader on a mini fixture (JSON and .npy), and its error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_builders import aicl_tables, asin, write_aicl

from bundlekd.data.aicl import load_aicl, load_topk_related
from bundlekd.errors import DataError


def test_splits_titles_bundles_and_item_order(aicl_root: Path) -> None:
    dataset = load_aicl(aicl_root, ["electronic"])
    by_id = {s.session_id: s for s in dataset.sessions}
    assert {sid: s.split for sid, s in by_id.items()} == {"1": "train", "2": "test", "3": "val"}
    assert [i.item_id for i in by_id["1"].items] == [asin("3"), asin("4"), asin("5")]
    assert by_id["2"].titles == ["Boom Speaker", "Cable", "Boom Speaker Cable Stand"]
    # val sessions (in neither file) get clean_title applied to item_titles
    assert by_id["3"].titles == [
        "Datavault 2TB Drive",
        "Acme 64GB USB Flash Drive ",
        "Volt Travel Adapter Kit",
    ]
    assert by_id["1"].bundles is not None
    assert by_id["1"].bundles[0].items == (asin("3"), asin("4"))
    assert by_id["1"].bundles[0].intent == "Laptop accessories"


def test_categories_only_on_train_sessions(aicl_root: Path) -> None:
    dataset = load_aicl(aicl_root, ["electronic"])
    train = dataset.split("train")[0]
    assert train.items[2].categories == (
        ("Electronics", "Travel"),
        ("Clothing, Shoes & Jewelry", "Luggage"),
    )
    for session in dataset.split("test") + dataset.split("val"):
        assert all(item.categories is None for item in session.items)
    # the same ASIN (item 5) sits in the val session: no categories there
    assert asin("5") in [i.item_id for i in dataset.split("val")[0].items]
    without = load_aicl(aicl_root, ["electronic"], join_categories=False)
    assert all(i.categories is None for s in without.sessions for i in s.items)


def test_npy_originals_load_to_the_same_dataset(aicl_root: Path) -> None:
    assert load_aicl(aicl_root, ["electronic"], use_npy=True) == load_aicl(
        aicl_root, ["electronic"]
    )


def test_topk_related(aicl_root: Path) -> None:
    assert load_topk_related(aicl_root, "electronic") == {"2": ["1"]}
    with pytest.raises(DataError, match="valid choices are electronic, clothing, food"):
        load_topk_related(aicl_root, "toys")


def test_unknown_domain_and_missing_root(aicl_root: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown domain\(s\) \['toys'\]: valid choices are"):
        load_aicl(aicl_root, ["toys"])
    with pytest.raises(DataError, match="data directory not found"):
        load_aicl(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"clothing/aicl/session_items\.json: file not found"):
        load_aicl(aicl_root, ["clothing"])


def test_truncated_json_names_file_line_and_column(aicl_root: Path) -> None:
    path = aicl_root / "electronic" / "aicl" / "session_items.json"
    path.write_text(path.read_text()[:-15])
    with pytest.raises(DataError, match=r"session_items\.json: invalid JSON at line 1, column \d+"):
        load_aicl(aicl_root, ["electronic"])


def test_unknown_item_in_a_bundle(tmp_path: Path) -> None:
    tables = aicl_tables()
    tables["session_bundles_deduplication"]["2"] = [["Audio", f"{asin('6')},{asin('11')}"]]
    root = write_aicl(tmp_path, tables=tables)
    with pytest.raises(
        DataError, match=r"session_items: session 2: .*bundle has items not in the session"
    ):
        load_aicl(root, ["electronic"])


def test_title_count_mismatch(tmp_path: Path) -> None:
    tables = aicl_tables()
    tables["test_set"]["2"] = "Boom Speaker|Cable"
    root = write_aicl(tmp_path, tables=tables)
    with pytest.raises(DataError, match=r"session 2 \(test\): expected 3 '\|'-separated titles"):
        load_aicl(root, ["electronic"])


def test_empty_session_is_a_data_error(tmp_path: Path) -> None:
    tables = aicl_tables()
    tables["session_items"]["3"] = ""
    tables["session_bundles_deduplication"].pop("3")
    root = write_aicl(tmp_path, tables=tables)
    with pytest.raises(DataError, match=r"session 3: empty session"):
        load_aicl(root, ["electronic"])


def test_session_in_both_splits_or_unknown(tmp_path: Path) -> None:
    tables = aicl_tables()
    tables["test_set"]["1"] = tables["training_set"]["1"]
    root = write_aicl(tmp_path / "a", tables=tables)
    with pytest.raises(DataError, match=r"\['1'\] are in both training_set and test_set"):
        load_aicl(root, ["electronic"])
    tables = aicl_tables()
    tables["training_set"]["77"] = "x|y"
    root = write_aicl(tmp_path / "b", tables=tables)
    with pytest.raises(DataError, match=r"\['77'\] are not in session_items"):
        load_aicl(root, ["electronic"])


def test_non_dict_table_is_a_data_error(aicl_root: Path) -> None:
    (aicl_root / "electronic" / "aicl" / "test_set.json").write_text(json.dumps(["a"]))
    with pytest.raises(DataError, match=r"test_set\.json: expected a JSON object"):
        load_aicl(aicl_root, ["electronic"])
