"""Incremental KB updates: add (exact dedupe + near-duplicate merge), remove, supersede, sync.

Every function runs inside one store transaction, so the lock covers the read of
knowledge.jsonl, the index update and the rewrite. The index is first brought in line with
the store (another process may have changed both), then only ids it lacks get embedded (P10).

Deferred kinds (exemplars: long texts, many of them) are not embedded when they are written:
only `kb search` and in-context examples read their vectors, and the grouping tool embeds
their titles, not their texts. A file index may therefore lack active exemplars; it never
holds an inactive item. `fill_deferred` embeds what a search needs on first use, in memory
only (a search is a read and writes no file); `kb rebuild` embeds everything and saves it.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bundlekd.data.known_splits import RowClaim, check_relabelled_rows
from bundlekd.data.leakage import check_sources
from bundlekd.errors import KnowledgeBaseError
from bundlekd.knowledge_base.index.base import FileIndex, VectorIndex
from bundlekd.knowledge_base.store.items import LABEL_KINDS, KnowledgeItem
from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore, Transaction
from bundlekd.llm.embeddings import Embedder
from bundlekd.numbers import finite

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
DEFAULT_MERGE_THRESHOLD = 0.92
# Patterns share one sentence template and differ only in category names, so their texts are
# near-identical to an embedder while saying different things: dedupe them exactly, never merge.
# Exemplars are item-level memory: two bundles with similar titles are still two bundles.
EXACT_ONLY_KINDS = frozenset({"pattern", "exemplar"})
# Kinds whose vectors are embedded on first search, not on write (never merged: a subset of
# EXACT_ONLY_KINDS, so no write needs their vectors).
DEFERRED_KINDS = frozenset({"exemplar"})


def deferred_kinds(index: VectorIndex) -> frozenset[str]:
    """The kinds `index` may lack: file indexes write only on save, so a search can fill
    them in memory; others (chroma writes on every upsert) are kept complete."""
    return DEFERRED_KINDS if isinstance(index, FileIndex) else frozenset()


@dataclass
class UpdateResult:
    """What an add did: counts, plus which candidate was merged into which kept item."""

    added: int = 0
    merged: int = 0
    unchanged: int = 0
    embedded: int = 0
    added_ids: list[str] = field(default_factory=list)
    merged_into: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("added", "merged", "unchanged", "embedded")}


def item_metadata(item: KnowledgeItem) -> dict[str, str]:
    """Per-vector metadata (used by chroma for `where` filters)."""
    return {"kind": item.kind, "domain": item.domain, "status": item.status}


def _embed_texts(
    embedder: Embedder, texts: Sequence[str], progress: Progress | None, batch_size: int = 256
) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), batch_size):
        parts.append(embedder.embed_batch(texts[start : start + batch_size]))
        if progress is not None:
            progress(min(start + batch_size, len(texts)), len(texts))
    return np.vstack(parts)


def _embed_into(
    index: VectorIndex,
    embedder: Embedder,
    items: Sequence[KnowledgeItem],
    batch_size: int = 256,
    progress: Progress | None = None,
) -> int:
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        vectors = embedder.embed_batch([i.text for i in batch])
        index.upsert([i.id for i in batch], vectors, [item_metadata(i) for i in batch])
        if progress is not None:
            progress(start + len(batch), len(items))
    return len(items)


def sync_index(
    index: VectorIndex,
    items: Iterable[KnowledgeItem],
    embedder: Embedder,
    *,
    batch_size: int = 256,
    progress: Progress | None = None,
    defer: bool = True,
) -> int:
    """Make the index hold exactly the active items, by this embedder; returns texts embedded.

    With `defer`, active items of the index's deferred kinds (`deferred_kinds`) that it lacks
    are left for the first search (`fill_deferred`). A foreign embedder id (or a fresh index)
    resets it, so with `defer=False` this is also the full rebuild.
    """
    dirty = False
    if index.embedder_id != embedder.model_id:
        if index.embedder_id is not None:
            logger.warning(
                "index was built with %s, the embedder is %s: rebuilding",
                index.embedder_id,
                embedder.model_id,
            )
        index.reset(embedder.model_id, embedder.dim)
        dirty = True
    active = {i.id: i for i in items if i.status == "active"}
    present = set(index.ids())
    stale = sorted(present - active.keys())
    if stale:
        index.delete(stale)
    later = deferred_kinds(index) if defer else frozenset()
    missing = [
        item
        for item_id, item in active.items()
        if item_id not in present and item.kind not in later
    ]
    embedded = _embed_into(index, embedder, missing, batch_size, progress)
    if dirty or stale or missing:
        index.save()
    return embedded


def index_in_sync(index: VectorIndex, items: Iterable[KnowledgeItem], embedder: Embedder) -> bool:
    """Whether `index` serves reads as it is: this embedder's, no inactive id, and every
    active item there but those of the deferred kinds (filled on first search)."""
    if index.embedder_id != embedder.model_id:
        return False
    later = deferred_kinds(index)
    active = {item.id: item for item in items if item.status == "active"}
    present = set(index.ids())
    if not present <= active.keys():
        return False
    return all(active[i].kind in later for i in active.keys() - present)


_FILL_LOCK = threading.Lock()


def fill_deferred(
    index: VectorIndex,
    items: Iterable[KnowledgeItem],
    embedder: Embedder,
    *,
    batch_size: int = 256,
    progress: Progress | None = None,
) -> int:
    """Embed the given active items the index lacks into it, in memory (nothing is saved);
    returns how many. What a search calls first, with the items it may return."""
    with _FILL_LOCK:
        present = set(index.ids())
        missing = [i for i in items if i.status == "active" and i.id not in present]
        if not missing:
            return 0
        if index.embedder_id is None:
            index.reset(embedder.model_id, embedder.dim)
        if index.embedder_id != embedder.model_id:
            return 0  # a foreign index: opening the KB refuses or rebuilds it
        logger.info("embedding %d deferred item(s) for the search", len(missing))
        return _embed_into(index, embedder, missing, batch_size, progress)


def refresh_and_sync(
    index: VectorIndex, items: Iterable[KnowledgeItem], embedder: Embedder, **kwargs: object
) -> int:
    """Reload what another process saved (a corrupt index is reset), then `sync_index`."""
    try:
        index.refresh()
    except KnowledgeBaseError as exc:
        logger.warning("%s; rebuilding the index", exc)
        index.reset(embedder.model_id, embedder.dim)
    return sync_index(index, items, embedder, **kwargs)  # type: ignore[arg-type]


def check_candidates(candidates: Sequence[KnowledgeItem], force: bool = False) -> None:
    """The leakage guard on the way in: a row names its own `source_splits`, and a row from the
    test split or without a known split is refused unless forced (patterns and exemplars are
    labels: never from test, even forced)."""
    label_rows = [i for i in candidates if i.kind in LABEL_KINDS]
    other_rows = [i for i in candidates if i.kind not in LABEL_KINDS]
    check_sources(
        ((_label(i), i.source_splits) for i in label_rows),
        use="the knowledge base as patterns/exemplars",
        force_unknown=force,
        can_force=False,
        can_force_unknown=True,
        noun="row",
    )
    check_sources(
        ((_label(i), i.source_splits) for i in other_rows),
        use="the knowledge base",
        force_test=force,
        force_unknown=force,
        noun="row",
    )
    for item in candidates:
        if item.status != "active":
            raise KnowledgeBaseError(f"item {item.id}: new items must be active, not {item.status}")
    # A row's split is a claim: rows from a known source's test sessions are refused anyway.
    check_relabelled_rows((_claim(i) for i in candidates), use="the knowledge base", force=force)


def _claim(item: KnowledgeItem) -> RowClaim:
    titles = [*item.stats.get("titles", ()), *item.stats.get("others", ())]
    return RowClaim(
        _label(item), item.domain, item.source_session_ids, item.source_splits, tuple(titles)
    )


def _label(item: KnowledgeItem) -> str:
    return f"{item.id}: {item.kind}, {item.domain}"


def _merged(kept: KnowledgeItem, duplicate: KnowledgeItem) -> KnowledgeItem:
    stats = dict(kept.stats)
    # Remember merged ids, so re-adding the same candidate later is a no-op (idempotent).
    stats["merged_ids"] = sorted({*stats.get("merged_ids", []), duplicate.id})
    stats["merged_count"] = int(stats.get("merged_count", 0)) + 1
    return kept.replace(
        source_session_ids=sorted({*kept.source_session_ids, *duplicate.source_session_ids}),
        source_splits=sorted({*kept.source_splits, *duplicate.source_splits}),
        stats=stats,
    )


def add_items(
    store: KnowledgeStore,
    index: VectorIndex,
    embedder: Embedder,
    candidates: Iterable[KnowledgeItem],
    merge_threshold: float | None = DEFAULT_MERGE_THRESHOLD,
    *,
    progress: Progress | None = None,
    force: bool = False,
) -> UpdateResult:
    """Add candidates: exact duplicates are no-ops, near-duplicates merge into the kept item.

    Known ids (stored, or merged earlier into a stored item) are no-ops, so re-running a
    distillation adds nothing twice, and a removed item stays removed. A candidate whose
    cosine to an active item of the same kind and domain is >= `merge_threshold` is merged
    into it: the kept item wins, provenance is unioned, `stats.merged_count` grows and
    `stats.merged_ids` remembers the candidate. Candidates are processed in id order, so the
    result does not depend on input order. `merge_threshold=None` turns merging off; patterns
    (EXACT_ONLY_KINDS) are never merged. Items from the test split, or without a known split in
    `source_splits`, are refused unless `force` (the user forced it, and `kb stats` shows the
    split; `generate` and `eval` warn when such knowledge is used).
    """
    if merge_threshold is not None:  # NaN would silently turn merging off
        merge_threshold = finite(merge_threshold, "merge_threshold", low=0.0)
    candidates = list(candidates)
    check_candidates(candidates, force)
    result = UpdateResult()
    with store.transaction("add") as tx:
        result.embedded += refresh_and_sync(index, tx.items.values(), embedder)
        known = set(tx.items)
        known.update(m for i in tx.items.values() for m in i.stats.get("merged_ids", ()))
        fresh: dict[str, KnowledgeItem] = {}
        for item in candidates:
            if item.id in known or item.id in fresh:
                result.unchanged += 1
            else:
                fresh[item.id] = item
        order = [fresh[i] for i in sorted(fresh)]
        later = deferred_kinds(index)
        now = [j for j, item in enumerate(order) if item.kind not in later]
        vectors = _vectors_of(embedder, order, now, progress) if order else None
        result.embedded += len(now)
        accepted = _merge_near_duplicates(tx, index, order, vectors, merge_threshold, result)
        accepted = [j for j in accepted if order[j].kind not in later]
        if accepted and vectors is not None:
            picked = [order[j] for j in accepted]
            metadata = [item_metadata(i) for i in picked]
            index.upsert([i.id for i in picked], vectors[accepted], metadata)
            index.save()
        tx.summary = result.counts()
    logger.info("kb add: %s", result.counts())
    return result


def _vectors_of(
    embedder: Embedder, order: list[KnowledgeItem], now: list[int], progress: Progress | None
) -> np.ndarray | None:
    """The candidates' vectors, embedded for the positions in `now` only (the others, of
    deferred kinds, are zero rows: never merged, never indexed here)."""
    if not now:
        return np.zeros((len(order), embedder.dim), dtype=np.float32)
    found = _embed_texts(embedder, [order[j].text for j in now], progress)
    if len(now) == len(order):
        return found
    vectors = np.zeros((len(order), found.shape[1]), dtype=found.dtype)
    vectors[now] = found
    return vectors


def _merge_near_duplicates(
    tx: Transaction,
    index: VectorIndex,
    order: list[KnowledgeItem],
    vectors: np.ndarray | None,
    threshold: float | None,
    result: UpdateResult,
) -> list[int]:
    """Apply merges/additions to the transaction; returns the positions of accepted candidates."""
    if vectors is None:
        return []
    best_existing: dict[int, tuple[str, float]] = {}
    by_group: dict[tuple[str, str], list[int]] = defaultdict(list)
    for j, item in enumerate(order):
        by_group[(item.kind, item.domain)].append(j)
    if threshold is not None:
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for item in tx.items.values():
            if item.status == "active":
                groups[(item.kind, item.domain)].append(item.id)
        for key, positions in by_group.items():
            if key[0] not in EXACT_ONLY_KINDS and groups.get(key):  # exact kinds never merge
                hits = index.search(vectors[positions], 1, filter_ids=groups[key])
                best_existing.update({j: h[0] for j, h in zip(positions, hits, strict=True) if h})
    accepted: list[int] = []
    # Vectors of this batch's accepted items, per kind+domain, preallocated (no copies).
    kept: dict[tuple[str, str], tuple[np.ndarray, list[int]]] = {}
    for j, item in enumerate(order):
        key = (item.kind, item.domain)
        if item.kind in EXACT_ONLY_KINDS:
            tx.put(item, "add")
            accepted.append(j)
            result.added += 1
            result.added_ids.append(item.id)
            continue
        target, score = best_existing.get(j, ("", -1.0))
        if threshold is not None and key in kept and kept[key][1]:
            matrix, positions = kept[key]
            sims = matrix[: len(positions)] @ vectors[j]
            top = int(np.argmax(sims))
            if float(sims[top]) > score:
                target, score = order[positions[top]].id, float(sims[top])
        if threshold is not None and target and score >= threshold:
            tx.put(
                _merged(tx.items[target], item),
                "merge",
                merged_from=item.id,
                cosine=round(score, 4),
            )
            result.merged += 1
            result.merged_into[item.id] = target
            continue
        tx.put(item, "add")
        accepted.append(j)
        result.added += 1
        result.added_ids.append(item.id)
        if threshold is not None:
            size = len(by_group[key])
            matrix, positions = kept.setdefault(
                key, (np.empty((size, vectors.shape[1]), dtype=np.float32), [])
            )
            matrix[len(positions)] = vectors[j]
            positions.append(j)
    return accepted


def resolve_ids(items: dict[str, KnowledgeItem], ids: Iterable[str]) -> list[str]:
    """Full ids for exact ids or unique prefixes (>= 6 characters), like git short hashes."""
    out = []
    for given in ids:
        if given in items:
            out.append(given)
            continue
        matches = [i for i in items if len(given) >= 6 and i.startswith(given)]
        if len(matches) != 1:
            why = "is ambiguous" if matches else "is not in the knowledge base"
            raise KnowledgeBaseError(f"id {given!r} {why}")
        out.append(matches[0])
    return out


def remove_items(store: KnowledgeStore, index: VectorIndex, ids: Iterable[str]) -> list[str]:
    """Mark items removed (kept in knowledge.jsonl for provenance) and drop their vectors."""
    with store.transaction("remove") as tx:
        removed = []
        for item_id in resolve_ids(tx.items, ids):
            if tx.items[item_id].status != "removed":
                tx.put(tx.items[item_id].replace(status="removed", superseded_by=None), "remove")
                removed.append(item_id)
        if removed:
            try:
                index.refresh()
            except KnowledgeBaseError as exc:
                # Leave it: the next open/add rebuilds it, and retrieval skips inactive ids.
                logger.warning("%s; the index is synced on the next update", exc)
            else:
                index.delete(removed)
                index.save()
        tx.summary = {"removed": len(removed)}
    return removed


def supersede(
    store: KnowledgeStore,
    index: VectorIndex,
    embedder: Embedder,
    old_id: str,
    new_item: KnowledgeItem,
) -> KnowledgeItem:
    """Replace an active item by `new_item`; the old one stays, status superseded (P10)."""
    check_candidates([new_item])
    with store.transaction("supersede") as tx:
        refresh_and_sync(index, tx.items.values(), embedder)
        (old_id,) = resolve_ids(tx.items, [old_id])
        old = tx.items[old_id]
        if old.status != "active":
            raise KnowledgeBaseError(
                f"item {old_id} is {old.status}; only active items can be superseded"
            )
        if new_item.id == old_id:
            raise KnowledgeBaseError(f"item {old_id}: the replacement has the same content")
        existing = tx.items.get(new_item.id)
        if existing is not None and existing.status != "active":
            raise KnowledgeBaseError(
                f"the replacement {new_item.id} exists and is {existing.status}"
            )
        if existing is None:
            tx.put(new_item, "add")
            _embed_into(index, embedder, [new_item])
        tx.put(
            old.replace(status="superseded", superseded_by=new_item.id),
            "supersede",
            superseded_by=new_item.id,
        )
        index.delete([old_id])
        index.save()
        tx.summary = {"old": old_id, "new": new_item.id}
    return tx.items[old_id]
