"""Real-data checks (skipped without BUNDLEKD_DATA_DIR): counts equal the data README exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundlekd.data.aicl import AICL_DOMAINS, load_aicl, load_topk_related
from bundlekd.data.bundlerec import load_bundlerec
from bundlekd.data.safe_pickle import load_npy_as_json
from bundlekd.data.schema import Dataset
from bundlekd.data.stats import aicl_stats, bundlerec_stats
from bundlekd.data.titles import clean_title

# From ../shared/data/bundles/README.md §1 (raw BundleRec).
BUNDLEREC_README = {
    "electronic": (
        1145,
        893,
        252,
        6539,
        "5.71 (2–10)",
        4943,
        1750,
        6165,
        "3.52 (2–10)",
        "1.96 (7)",
        1422,
        3499,
        1444,
    ),
    "clothing": (
        1181,
        968,
        213,
        6793,
        "5.75 (2–10)",
        6439,
        1910,
        6326,
        "3.31 (2–10)",
        "1.97 (6)",
        1467,
        4487,
        1952,
    ),
    "food": (
        1161,
        914,
        247,
        6547,
        "5.64 (2–10)",
        5072,
        1784,
        6395,
        "3.58 (2–10)",
        "1.95 (6)",
        1156,
        3767,
        1305,
    ),
}
# From §2 (AICL split).
AICL_README = {
    "electronic": (
        893,
        5520,
        "6.18 (2–10)",
        4239,
        1346,
        "1.51",
        "2.92 (2–10)",
        1089,
        1817,
        "623 / 180 / 90",
    ),
    "clothing": (
        968,
        5949,
        "6.15 (2–10)",
        5681,
        1495,
        "1.54",
        "2.79 (2–10)",
        1146,
        1951,
        "698 / 180 / 90",
    ),
    "food": (
        914,
        5497,
        "6.01 (2–10)",
        4392,
        1353,
        "1.48",
        "3.00 (2–10)",
        885,
        1608,
        "644 / 180 / 90",
    ),
}


_CACHE: dict[Path, Dataset] = {}


@pytest.fixture
def aicl_dataset(data_dir: Path) -> Dataset:
    """The real AICL dataset, loaded once per test run (data_dir is function-scoped)."""
    if data_dir not in _CACHE:
        _CACHE[data_dir] = load_aicl(data_dir)
    return _CACHE[data_dir]


@pytest.mark.parametrize("domain", AICL_DOMAINS)
def test_bundlerec_counts_match_the_readme(data_dir: Path, domain: str) -> None:
    data = load_bundlerec(data_dir / domain)
    stats = bundlerec_stats(data)
    values = tuple(value for _label, value in stats.rows())
    assert values == tuple(str(v) for v in BUNDLEREC_README[domain])
    assert sum(1 for s in data.sessions for i in s.items if i.title == "") == data.untitled_rows
    assert all(
        set(b.items) <= {i.item_id for i in s.items} for s in data.sessions for b in s.bundles or ()
    )


@pytest.mark.parametrize("domain", AICL_DOMAINS)
def test_aicl_counts_match_the_readme(aicl_dataset: Dataset, domain: str) -> None:
    values = tuple(value for _label, value in aicl_stats(aicl_dataset.sessions, domain).rows())
    assert values == tuple(str(v) for v in AICL_README[domain])


def test_val_and_test_sessions_carry_no_categories(aicl_dataset: Dataset) -> None:
    for split in ("val", "test"):
        assert all(i.categories is None for s in aicl_dataset.split(split) for i in s.items)
    train_items = [i for s in aicl_dataset.split("train") for i in s.items]
    with_categories = sum(1 for i in train_items if i.categories is not None)
    assert with_categories > 0.8 * len(train_items)


def test_bundles_are_subsets_of_their_sessions_and_titles_are_present(
    aicl_dataset: Dataset,
) -> None:
    for session in aicl_dataset.sessions:
        ids = {i.item_id for i in session.items}
        assert session.bundles
        assert all(set(b.items) <= ids and len(b.items) >= 2 for b in session.bundles)
        assert all(i.title.strip() for i in session.items)


@pytest.mark.parametrize("domain", AICL_DOMAINS)
def test_npy_originals_equal_their_json_twins(data_dir: Path, domain: str) -> None:
    for npy in sorted((data_dir / domain / "aicl").glob("*.npy")):
        twin = json.loads(npy.with_suffix(".json").read_text(encoding="utf-8"))
        assert load_npy_as_json(npy) == twin, npy.name


def test_loading_from_npy_gives_the_same_dataset(data_dir: Path, aicl_dataset: Dataset) -> None:
    assert load_aicl(data_dir, use_npy=True) == aicl_dataset


@pytest.mark.parametrize("domain", AICL_DOMAINS)
def test_topk_related_are_training_sessions(
    data_dir: Path, aicl_dataset: Dataset, domain: str
) -> None:
    related = load_topk_related(data_dir, domain)
    train_ids = {s.session_id for s in aicl_dataset.filter(domain, "train")}
    test_ids = {s.session_id for s in aicl_dataset.filter(domain, "test")}
    assert set(related) == test_ids
    assert all(len(ids) == 10 and set(ids) <= train_ids for ids in related.values())


def test_clean_title_reproduces_the_aicl_titles(data_dir: Path, aicl_dataset: Dataset) -> None:
    """How often clean_title(item_titles[asin]) equals the split's cleaned title (train + test)."""
    total = same = 0
    for domain in AICL_DOMAINS:
        raw = json.loads(
            (data_dir / domain / "aicl" / "item_titles.json").read_text(encoding="utf-8")
        )
        for session in aicl_dataset.filter(domain):
            if session.split == "val":
                continue
            for item in session.items:
                total += 1
                same += clean_title(raw[item.item_id]) == item.title
    rate = same / total
    print(f"clean_title reproduces {same}/{total} = {rate:.4%} of the AICL train/test titles")
    assert total == 15346
    assert rate >= 0.998
