"""Loader for the raw BundleRec release (``<domain>/*.csv``).

The files are comma-separated with a header and double-quoted fields that may span lines (some
intents contain newlines), despite the upstream README saying "tab separated". Item ids stay the
domain-local integer ids (as strings). The raw data has no split, so sessions carry no split and
items carry titles only; categories are returned separately (label leak: DESIGN.md §2).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bundlekd.data.categories import CategoryPaths, parse_category_paths
from bundlekd.data.schema import Bundle, Item, Session
from bundlekd.data.sessions_jsonl import describe_validation_error
from bundlekd.errors import DataError

logger = logging.getLogger(__name__)

HEADERS: dict[str, tuple[str, ...]] = {
    "session_item.csv": ("session ID", "item ID"),
    "session_bundle.csv": ("session ID", "bundle ID"),
    "bundle_item.csv": ("bundle ID", "item ID"),
    "bundle_intent.csv": ("bundle ID", "intent"),
    "item_titles.csv": ("item ID", "titles"),
    "item_categories.csv": ("item ID", "categories"),
    "item_idx_mapping.csv": ("item ID", "source ID"),
}


@dataclass(frozen=True)
class BundleRecData:
    """One domain of the raw release.

    Attributes:
        domain: Domain name (the folder name unless given).
        sessions: Every session of ``session_item.csv`` in file order; ``bundles=()`` when the
            session has no annotated bundle. Items without a title keep ``title=""``.
        titles: item ID -> raw title (only items that appear in some bundle have one).
        categories: item ID -> category paths (the same items as `titles`).
        intents: bundle ID -> raw intent text (may contain newlines or be empty).
        bundle_ids: session ID -> its bundle IDs, in the order of `Session.bundles`.
        untitled_items: Distinct session item IDs without a title, sorted.
        untitled_rows: Session-item rows whose item has no title.
    """

    domain: str
    sessions: tuple[Session, ...]
    titles: dict[str, str]
    categories: dict[str, CategoryPaths]
    intents: dict[str, str]
    bundle_ids: dict[str, tuple[str, ...]]
    untitled_items: tuple[str, ...]
    untitled_rows: int


def iter_csv(path: Path, header: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """Yield (first line number, fields) per record of a comma-separated file with `header`.

    Raises:
        DataError: Missing file, wrong delimiter or header, or a record with the wrong width;
            the message names the file and line and says what was expected.
    """
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    expected = ",".join(header)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        first = next(reader, None)
        if first is None:
            raise DataError(f"{path}:1: empty file, expected the header {expected!r}")
        if tuple(first) != header:
            found = ",".join(first)
            hint = " (the file looks tab-separated; expected commas)" if "\t" in found else ""
            raise DataError(f"{path}:1: expected the header {expected!r}, found {found!r}{hint}")
        start = reader.line_num + 1
        for row in reader:
            if len(row) != len(header):
                raise DataError(
                    f"{path}:{start}: expected {len(header)} comma-separated fields "
                    f"({expected}), found {len(row)}: {row!r:.120}"
                )
            yield start, row
            start = reader.line_num + 1


def read_table(domain_dir: Path, name: str) -> Iterator[tuple[int, list[str]]]:
    """`iter_csv` for one of the known files, with its expected header."""
    return iter_csv(domain_dir / name, HEADERS[name])


def read_item_categories(domain_dir: Path) -> dict[str, CategoryPaths]:
    """item ID -> parsed category paths from ``item_categories.csv``."""
    path = domain_dir / "item_categories.csv"
    return {
        item_id: parse_category_paths(text, where=f"{path}:{line}")
        for line, (item_id, text) in read_table(domain_dir, "item_categories.csv")
    }


def read_item_asins(domain_dir: Path, wanted: Iterable[str] | None = None) -> dict[str, str]:
    """item ID -> ASIN from ``item_idx_mapping.csv`` (only `wanted` ids when given)."""
    keep = None if wanted is None else set(wanted)
    return {
        item_id: asin
        for _line, (item_id, asin) in read_table(domain_dir, "item_idx_mapping.csv")
        if keep is None or item_id in keep
    }


def _group(domain_dir: Path, name: str) -> tuple[dict[str, list[str]], dict[tuple[str, str], int]]:
    """key -> values in file order, plus the line of each (key, value) pair; rejects duplicates."""
    groups: dict[str, list[str]] = {}
    lines: dict[tuple[str, str], int] = {}
    for line, (key, value) in read_table(domain_dir, name):
        if (key, value) in lines:
            raise DataError(
                f"{domain_dir / name}:{line}: duplicate row {key},{value} "
                f"(first at line {lines[key, value]})"
            )
        lines[key, value] = line
        groups.setdefault(key, []).append(value)
    return groups, lines


def _read_intents(domain_dir: Path) -> dict[str, str]:
    intents: dict[str, str] = {}
    for line, (bundle_id, intent) in read_table(domain_dir, "bundle_intent.csv"):
        if bundle_id in intents:
            raise DataError(
                f"{domain_dir / 'bundle_intent.csv'}:{line}: duplicate bundle ID {bundle_id}"
            )
        intents[bundle_id] = intent
    return intents


def load_bundlerec(domain_dir: Path, domain: str | None = None) -> BundleRecData:
    """Load one domain of the raw BundleRec CSVs.

    Args:
        domain_dir: The folder holding ``session_item.csv`` etc. (e.g. ``<data>/electronic``).
        domain: Domain name; defaults to the folder name.

    Raises:
        DataError: Malformed files, or a bundle that refers to an unknown session, an item outside
            its session, or lacks an intent.
    """
    domain_dir = Path(domain_dir)
    domain = domain or domain_dir.name
    session_items, _ = _group(domain_dir, "session_item.csv")
    session_bundles, sb_lines = _group(domain_dir, "session_bundle.csv")
    bundle_items, bi_lines = _group(domain_dir, "bundle_item.csv")
    intents = _read_intents(domain_dir)
    titles = {item_id: title for _l, (item_id, title) in read_table(domain_dir, "item_titles.csv")}
    categories = read_item_categories(domain_dir)

    sessions = []
    for session_id, item_ids in session_items.items():
        members = set(item_ids)
        bundles = []
        for bundle_id in session_bundles.get(session_id, ()):
            where = f"{domain_dir / 'session_bundle.csv'}:{sb_lines[session_id, bundle_id]}"
            items = bundle_items.get(bundle_id)
            if not items:
                raise DataError(f"{where}: bundle ID {bundle_id} has no row in bundle_item.csv")
            for item_id in items:
                if item_id not in members:
                    raise DataError(
                        f"{domain_dir / 'bundle_item.csv'}:{bi_lines[bundle_id, item_id]}: "
                        f"item ID {item_id} of bundle {bundle_id} is not in session {session_id}"
                    )
            if bundle_id not in intents:
                raise DataError(
                    f"{where}: bundle ID {bundle_id} has no intent in bundle_intent.csv"
                )
            bundles.append(Bundle(items=tuple(items), intent=intents[bundle_id]))
        items_ = tuple(Item(item_id=i, title=titles.get(i, "")) for i in item_ids)
        try:
            sessions.append(
                Session(session_id=session_id, domain=domain, items=items_, bundles=tuple(bundles))
            )
        except ValidationError as exc:
            detail = describe_validation_error(exc)
            raise DataError(
                f"{domain_dir / 'session_item.csv'}: session {session_id}: {detail}"
            ) from exc

    orphans = sorted(set(session_bundles) - set(session_items), key=_numeric_key)
    if orphans:
        first = orphans[0]
        line = sb_lines[first, session_bundles[first][0]]
        raise DataError(
            f"{domain_dir / 'session_bundle.csv'}:{line}: session ID {first} is not in "
            f"session_item.csv ({len(orphans)} such sessions)"
        )
    untitled_rows = sum(1 for ids in session_items.values() for i in ids if i not in titles)
    untitled = sorted(
        {i for ids in session_items.values() for i in ids if i not in titles}, key=_numeric_key
    )
    if untitled:
        logger.info(
            "%s: %d session items have no title (kept with title='')", domain, len(untitled)
        )
    return BundleRecData(
        domain=domain,
        sessions=tuple(sessions),
        titles=titles,
        categories=categories,
        intents=intents,
        bundle_ids={s: tuple(b) for s, b in session_bundles.items()},
        untitled_items=tuple(untitled),
        untitled_rows=untitled_rows,
    )


def _numeric_key(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (1 << 62, value)
