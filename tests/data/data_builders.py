"""Small on-disk fixtures in the real formats (BundleRec CSVs, AICL JSON/.npy), written by us."""

from __future__ import annotations

import csv
import json
from pathlib import Path

# One domain, 4 sessions. Session 10 has no bundle; item 7 has no title (not in any bundle).
SESSION_ITEM = [
    ("10", "1"),
    ("10", "2"),
    ("11", "3"),
    ("11", "4"),
    ("11", "5"),
    ("12", "6"),
    ("12", "7"),
    ("12", "8"),
    ("13", "9"),
    ("13", "1"),
]
SESSION_BUNDLE = [("11", "0"), ("11", "1"), ("12", "2"), ("13", "3")]
BUNDLE_ITEM = [
    ("0", "3"),
    ("0", "4"),
    ("1", "4"),
    ("1", "5"),
    ("2", "6"),
    ("2", "8"),
    ("3", "9"),
    ("3", "1"),
]
BUNDLE_INTENT = [
    ("0", "Laptop accessories"),
    ("1", "Travel,\nand charging"),
    ("2", "Audio"),
    ("3", "Storage"),
]
TITLES = {
    "1": "Acme 64GB USB Flash Drive (Black)",
    "2": "Acme Mouse",
    "3": "Zento 15.6&quot; Laptop Sleeve",
    "4": "Zento Laptop Charger, 65W",
    "5": "Volt Travel Adapter (2-Pack) Kit",
    "6": "Boom Speaker",
    "8": "Boom Speaker Cable &amp; Stand",
    "9": "Datavault 2TB Drive",
}
CATEGORIES = {
    "1": "[[Electronics,Computers & Accessories,Data Storage,USB Flash Drives]]",
    "2": "[[Electronics,Computers & Accessories,Mice]]",
    "3": "[[Electronics,Computers & Accessories,Cases & Sleeves]]",
    "4": "[[Electronics,Accessories & Supplies,Batteries, Chargers & Accessories,Chargers]]",
    "5": "[[Electronics,Travel],[Clothing, Shoes & Jewelry,Luggage]]",
    "6": "[[Electronics,Portable Audio]]",
    "8": "[[]]",
    "9": "[[Electronics,Data Storage]]",
}
ASINS = {str(i): f"B{i:09d}" for i in range(0, 12)}


def write_csv(
    path: Path, header: list[str], rows: list[tuple[str, ...]], delimiter: str = ","
) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)


def write_bundlerec(domain_dir: Path) -> Path:
    """Write the BundleRec CSVs of the mini domain; returns `domain_dir`."""
    domain_dir.mkdir(parents=True, exist_ok=True)
    write_csv(domain_dir / "session_item.csv", ["session ID", "item ID"], SESSION_ITEM)
    write_csv(domain_dir / "session_bundle.csv", ["session ID", "bundle ID"], SESSION_BUNDLE)
    write_csv(domain_dir / "bundle_item.csv", ["bundle ID", "item ID"], BUNDLE_ITEM)
    write_csv(domain_dir / "bundle_intent.csv", ["bundle ID", "intent"], BUNDLE_INTENT)
    write_csv(domain_dir / "item_titles.csv", ["item ID", "titles"], sorted(TITLES.items()))
    write_csv(
        domain_dir / "item_categories.csv", ["item ID", "categories"], sorted(CATEGORIES.items())
    )
    write_csv(domain_dir / "item_idx_mapping.csv", ["item ID", "source ID"], sorted(ASINS.items()))
    return domain_dir


def asin(item_id: str) -> str:
    return ASINS[item_id]


def aicl_tables() -> dict[str, dict]:
    """The AICL split of the mini domain: session "1" train, "2" test, "3" val (neither)."""
    a = asin
    raw_titles = {a(i): TITLES.get(i, f"Untitled thing {i} (raw)") for i in ASINS}
    return {
        "session_items": {
            "1": f"{a('3')},{a('4')},{a('5')}",
            "2": f"{a('6')},{a('7')},{a('8')}",
            "3": f"{a('9')},{a('1')},{a('5')}",
        },
        "session_bundles_deduplication": {
            "1": [["Laptop accessories", f"{a('3')},{a('4')}"]],
            "2": [["Audio", f"{a('6')},{a('8')}"]],
            "3": [["Storage", f"{a('9')},{a('1')}"]],
        },
        "item_titles": raw_titles,
        "training_set": {
            "1": "Zento 15.6 Laptop Sleeve|Zento Laptop Charger, 65W|Volt Travel Adapter Kit"
        },
        "test_set": {"2": "Boom Speaker|Cable|Boom Speaker Cable Stand"},
        "TopK_related_sessions": {"2": [1]},
    }


def write_aicl(
    root: Path, domain: str = "electronic", tables: dict | None = None, npy: bool = False
) -> Path:
    """Write the mini AICL split (JSON, and .npy twins when `npy`) plus the CSVs; returns `root`."""
    import numpy as np

    write_bundlerec(root / domain)
    folder = root / domain / "aicl"
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in (tables or aicl_tables()).items():
        (folder / f"{name}.json").write_text(json.dumps(table), encoding="utf-8")
        if npy:
            original = {_int_key(k): _tuples(v) for k, v in table.items()}
            holder = np.empty((), dtype=object)
            holder[()] = original
            np.save(folder / f"{name}.npy", holder, allow_pickle=True)
    return root


def _int_key(key: str) -> int | str:
    return int(key) if key.isdigit() else key


def _tuples(value: object) -> object:
    if isinstance(value, list):
        return [tuple(v) if isinstance(v, list) else v for v in value]
    return value
