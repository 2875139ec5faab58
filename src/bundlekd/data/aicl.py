"""Loader for the AICL preprocessed split (``<data>/<domain>/aicl/``).

Item ids are ASINs; item order is the ``session_items`` order ("product 1..N"). Sessions in
``training_set`` are "train", in ``test_set`` "test", and the 90 per domain in neither "val".
Titles come from the cleaned ``"t1|t2|..."`` strings of the split files; val sessions get
`clean_title` applied to ``item_titles``. Categories (from the raw CSVs) are attached to items of
train sessions only: on val/test they would leak the labels (DESIGN.md §2).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bundlekd.data.bundlerec import read_item_asins, read_item_categories
from bundlekd.data.categories import CategoryPaths
from bundlekd.data.safe_pickle import load_npy_as_json
from bundlekd.data.schema import Bundle, Dataset, Item, Session
from bundlekd.data.sessions_jsonl import describe_validation_error
from bundlekd.data.titles import clean_title, split_session_titles
from bundlekd.errors import DataError
from bundlekd.files import read_json

logger = logging.getLogger(__name__)

AICL_DOMAINS: tuple[str, ...] = ("electronic", "clothing", "food")
AICL_TABLES = (
    "session_items",
    "session_bundles_deduplication",
    "item_titles",
    "training_set",
    "test_set",
    "TopK_related_sessions",
)


def check_domains(domains: Sequence[str] | None) -> list[str]:
    """The requested domains (all three when None); an unknown one is a DataError."""
    chosen = list(AICL_DOMAINS if domains is None else domains)
    unknown = [d for d in chosen if d not in AICL_DOMAINS]
    if unknown or not chosen:
        raise DataError(
            f"unknown domain(s) {unknown or chosen}: valid choices are {', '.join(AICL_DOMAINS)}"
        )
    return chosen


def read_aicl_table(root: Path, domain: str, name: str, *, use_npy: bool = False) -> dict[str, Any]:
    """One AICL dict with string keys, from the JSON twin or (safely) from the ``.npy`` original."""
    path = Path(root) / domain / "aicl" / f"{name}.{'npy' if use_npy else 'json'}"
    table = load_npy_as_json(path) if use_npy else read_json(path)
    if not isinstance(table, dict):
        raise DataError(f"{path}: expected a JSON object (dict), got {type(table).__name__}")
    return table


def load_topk_related(root: Path, domain: str, *, use_npy: bool = False) -> dict[str, list[str]]:
    """test session id -> its 10 nearest training session ids (AICL uses the first as demo)."""
    check_domains([domain])
    table = read_aicl_table(root, domain, "TopK_related_sessions", use_npy=use_npy)
    return {sid: [str(other) for other in related] for sid, related in table.items()}


def train_categories_by_asin(domain_dir: Path) -> dict[str, CategoryPaths]:
    """ASIN -> category paths of the raw release (only bundle items have them)."""
    by_item_id = read_item_categories(domain_dir)
    asins = read_item_asins(domain_dir, by_item_id)
    missing = [item_id for item_id in by_item_id if item_id not in asins]
    if missing:
        raise DataError(
            f"{domain_dir / 'item_idx_mapping.csv'}: no ASIN for item ID(s) {missing[:5]} "
            f"of item_categories.csv ({len(missing)} in all)"
        )
    return {asins[item_id]: paths for item_id, paths in by_item_id.items()}


def _load_domain(root: Path, domain: str, *, join_categories: bool, use_npy: bool) -> list[Session]:
    def table(name: str) -> dict[str, Any]:
        return read_aicl_table(root, domain, name, use_npy=use_npy)

    folder = Path(root) / domain / "aicl"
    session_items, gt_bundles = table("session_items"), table("session_bundles_deduplication")
    raw_titles, train, test = table("item_titles"), table("training_set"), table("test_set")
    categories = train_categories_by_asin(Path(root) / domain) if join_categories else {}
    unknown = sorted((set(train) | set(test) | set(gt_bundles)) - set(session_items))
    if unknown:
        raise DataError(f"{folder}: session id(s) {unknown[:5]} are not in session_items")
    overlap = sorted(set(train) & set(test))
    if overlap:
        raise DataError(
            f"{folder}: session id(s) {overlap[:5]} are in both training_set and test_set"
        )

    sessions = []
    for sid, joined in session_items.items():
        where = f"{folder}/session_items: session {sid}"
        item_ids = joined.split(",") if joined.strip() else []
        if not item_ids or "" in item_ids:
            raise DataError(f"{where}: empty session or empty item id in {joined!r}")
        split = "train" if sid in train else "test" if sid in test else "val"
        if split == "val":
            missing = [asin for asin in item_ids if asin not in raw_titles]
            if missing:
                raise DataError(f"{where}: no entry in item_titles for {missing}")
            titles = [clean_title(raw_titles[asin]) for asin in item_ids]
        else:
            titles = split_session_titles(
                (train if split == "train" else test)[sid],
                len(item_ids),
                where=f"{where} ({split})",
            )
        items = tuple(
            Item(
                item_id=asin,
                title=title,
                categories=categories.get(asin) if split == "train" else None,
            )
            for asin, title in zip(item_ids, titles, strict=True)
        )
        try:
            bundles = tuple(
                Bundle(items=tuple(members.split(",")), intent=intent)
                for intent, members in gt_bundles.get(sid, [])
            )
            sessions.append(
                Session(session_id=sid, domain=domain, items=items, bundles=bundles, split=split)
            )
        except (ValidationError, ValueError, TypeError) as exc:
            detail = describe_validation_error(exc) if isinstance(exc, ValidationError) else exc
            raise DataError(f"{where}: {detail}") from exc
    return sessions


def load_aicl(
    root: Path,
    domains: Sequence[str] | None = None,
    *,
    join_categories: bool = True,
    use_npy: bool = False,
) -> Dataset:
    """Load the AICL split of the given domains (all three by default).

    Args:
        root: The data folder holding ``<domain>/aicl/`` (e.g. ``$BUNDLEKD_DATA_DIR``).
        domains: Subset of ``electronic``, ``clothing``, ``food``.
        join_categories: Attach raw category paths to items of *train* sessions.
        use_npy: Read the ``.npy`` originals (restricted unpickler) instead of the JSON twins.

    Raises:
        DataError: Unknown domain, missing or malformed files, inconsistent ids or title counts.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"{root}: data directory not found (set BUNDLEKD_DATA_DIR or pass --data-dir)"
        )
    sessions: list[Session] = []
    for domain in check_domains(domains):
        loaded = _load_domain(root, domain, join_categories=join_categories, use_npy=use_npy)
        logger.info("aicl/%s: %d sessions", domain, len(loaded))
        sessions.extend(loaded)
    return Dataset(name="aicl", sessions=tuple(sessions))
