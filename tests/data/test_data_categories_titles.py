"""Category-path parsing and AICL title cleaning (synthetic strings)."""

from __future__ import annotations

import pytest

from bundlekd.data.categories import format_category_paths, leaf_categories, parse_category_paths
from bundlekd.data.titles import clean_title, split_session_titles
from bundlekd.errors import DataError


def test_single_path_keeps_names_with_comma_space() -> None:
    text = "[[Electronics,Accessories & Supplies,Batteries, Chargers & Accessories,AC Adapters]]"
    assert parse_category_paths(text) == (
        (
            "Electronics",
            "Accessories & Supplies",
            "Batteries, Chargers & Accessories",
            "AC Adapters",
        ),
    )


def test_several_paths_split_on_bracket_comma_bracket() -> None:
    text = "[[Clothing, Shoes & Jewelry,Women,Shoes],[Sports & Outdoors,Running]]"
    paths = parse_category_paths(text)
    assert paths == (
        ("Clothing, Shoes & Jewelry", "Women", "Shoes"),
        ("Sports & Outdoors", "Running"),
    )
    assert format_category_paths(paths) == text
    assert leaf_categories(paths) == ["Shoes", "Running"]


def test_empty_category_field_gives_no_paths() -> None:
    assert parse_category_paths("[[]]") == ()
    assert leaf_categories(None) == []


@pytest.mark.parametrize("text", ["Electronics,Computers", "[Electronics]", "[[a,,b]]", ""])
def test_malformed_category_field_names_the_location(text: str) -> None:
    with pytest.raises(DataError, match=r"item_categories\.csv:7: categories"):
        parse_category_paths(text, where="item_categories.csv:7")


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Surface RT (32GB)", "Surface RT "),
        ("Sub 12&quot; Woofer, 325-Watt (Single, Black)", "Sub 12 Woofer, 325-Watt "),
        ("Swing &amp; Tilt Mount", "Swing Tilt Mount"),
        ("Acme&reg; Drive", "Acme&reg; Drive"),  # only &quot; and &amp; were removed upstream
        ("Magic (Extra Bold), K-cups", "Magic, K-cups"),
        ("Dr. Oetker Pudding", "Dr.Oetker Pudding"),
        ("Lewis N. Clark   Lock", "Lewis N.Clark  Lock"),  # one pass: 3 spaces become 2
        ("Beans 16oz (Pack of 6) (Mild)", "Beans 16oz "),
        ("Cover Keyboard | Black", "Cover Keyboard Black"),
    ],
)
def test_clean_title_reproduces_the_aicl_steps(raw: str, cleaned: str) -> None:
    assert clean_title(raw) == cleaned
    assert "|" not in clean_title(raw)


def test_split_session_titles_checks_the_item_count() -> None:
    assert split_session_titles("a|b|c", 3) == ["a", "b", "c"]
    with pytest.raises(DataError, match=r"test_set: session 4: expected 2 '\|'-separated titles"):
        split_session_titles("a|b|c", 2, where="test_set: session 4")
