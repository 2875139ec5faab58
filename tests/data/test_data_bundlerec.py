"""The raw BundleRec CSV loader on a mini fixture, and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_builders import BUNDLE_ITEM, SESSION_ITEM, write_csv

from bundlekd.data.bundlerec import load_bundlerec
from bundlekd.data.stats import bundlerec_stats
from bundlekd.errors import DataError


def test_loads_sessions_bundles_titles_and_untitled_items(bundlerec_dir: Path) -> None:
    data = load_bundlerec(bundlerec_dir)
    assert data.domain == "electronic"
    by_id = {s.session_id: s for s in data.sessions}
    assert [s.session_id for s in data.sessions] == ["10", "11", "12", "13"]
    assert by_id["10"].bundles == ()  # a session without any bundle is kept
    assert [b.items for b in by_id["11"].bundles or ()] == [("3", "4"), ("4", "5")]
    assert (by_id["11"].bundles or ())[1].intent == "Travel,\nand charging"  # quoted multi-line
    assert by_id["12"].items[1].item_id == "7"
    assert by_id["12"].items[1].title == ""  # kept, not dropped
    assert data.untitled_items == ("7",)
    assert data.untitled_rows == 1
    assert data.categories["5"] == (
        ("Electronics", "Travel"),
        ("Clothing, Shoes & Jewelry", "Luggage"),
    )
    assert data.categories["8"] == ()
    assert all(item.categories is None for s in data.sessions for item in s.items)
    assert data.bundle_ids == {"11": ("0", "1"), "12": ("2",), "13": ("3",)}


def test_stats_of_the_mini_domain(bundlerec_dir: Path) -> None:
    stats = bundlerec_stats(load_bundlerec(bundlerec_dir))
    assert (stats.sessions, stats.sessions_with_bundle, stats.sessions_without_bundle) == (4, 3, 1)
    assert (stats.session_item_rows, stats.distinct_items, stats.bundles) == (10, 9, 4)
    assert (stats.bundle_item_rows, stats.distinct_intents, stats.titled_items) == (8, 4, 8)
    assert stats.untitled_session_items == 1
    assert str(stats.items_per_session) == "2.50 (2–3)"
    assert stats.bundles_per_bundled_session.max == 2


def test_tab_separated_file_names_file_line_and_delimiter(bundlerec_dir: Path) -> None:
    write_csv(bundlerec_dir / "session_item.csv", ["session ID", "item ID"], SESSION_ITEM, "\t")
    with pytest.raises(DataError) as info:
        load_bundlerec(bundlerec_dir)
    message = str(info.value)
    assert "session_item.csv:1:" in message
    assert "expected the header 'session ID,item ID'" in message
    assert "tab-separated" in message


def test_wrong_header_is_a_data_error(bundlerec_dir: Path) -> None:
    write_csv(bundlerec_dir / "bundle_item.csv", ["bundle", "item"], BUNDLE_ITEM)
    with pytest.raises(
        DataError,
        match=r"bundle_item\.csv:1: expected the header 'bundle ID,item ID', found 'bundle,item'",
    ):
        load_bundlerec(bundlerec_dir)


def test_row_with_wrong_width_names_its_line(bundlerec_dir: Path) -> None:
    rows = [*SESSION_ITEM[:3], ("11", "4", "extra"), *SESSION_ITEM[4:]]
    write_csv(bundlerec_dir / "session_item.csv", ["session ID", "item ID"], rows)
    with pytest.raises(DataError, match=r"session_item\.csv:5: expected 2 comma-separated fields"):
        load_bundlerec(bundlerec_dir)


def test_line_numbers_count_multi_line_records(bundlerec_dir: Path) -> None:
    rows = [("0", "a"), ("1", "two\nlines"), ("2", "x", "y")]
    write_csv(bundlerec_dir / "bundle_intent.csv", ["bundle ID", "intent"], rows)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"bundle_intent\.csv:5: expected 2"):
        load_bundlerec(bundlerec_dir)


def test_unknown_item_in_a_bundle_names_the_bundle_item_row(bundlerec_dir: Path) -> None:
    rows = [*BUNDLE_ITEM, ("2", "9")]  # item 9 belongs to session 13, bundle 2 to session 12
    write_csv(bundlerec_dir / "bundle_item.csv", ["bundle ID", "item ID"], rows)
    with pytest.raises(
        DataError, match=r"bundle_item\.csv:10: item ID 9 of bundle 2 is not in session 12"
    ):
        load_bundlerec(bundlerec_dir)


def test_bundle_without_intent_or_items_is_a_data_error(bundlerec_dir: Path) -> None:
    write_csv(
        bundlerec_dir / "bundle_intent.csv",
        ["bundle ID", "intent"],
        [("0", "a"), ("1", "b"), ("3", "c")],
    )
    with pytest.raises(DataError, match=r"session_bundle\.csv:4: bundle ID 2 has no intent"):
        load_bundlerec(bundlerec_dir)


def test_bundle_of_an_unknown_session_is_a_data_error(bundlerec_dir: Path) -> None:
    rows = [("11", "0"), ("11", "1"), ("12", "2"), ("13", "3"), ("99", "3")]
    write_csv(bundlerec_dir / "session_bundle.csv", ["session ID", "bundle ID"], rows)
    with pytest.raises(
        DataError, match=r"session_bundle\.csv:6: session ID 99 is not in session_item\.csv"
    ):
        load_bundlerec(bundlerec_dir)


def test_missing_file_is_a_data_error(bundlerec_dir: Path) -> None:
    (bundlerec_dir / "item_titles.csv").unlink()
    with pytest.raises(DataError, match=r"item_titles\.csv: file not found"):
        load_bundlerec(bundlerec_dir)
