"""ItemMemory: exemplars indexed per item title (the item-level memory of DESIGN.md §7).

For each title of a session, `nearest` returns the k most similar training items and, with
each, the items it was bundled with and that bundle's intent. The title vectors are a
rebuildable cache beside the KB (`index/item_memory.npz`), keyed by exemplar id and embedder:
only titles of exemplars the cache lacks are embedded. The same file keeps the vectors of the
exemplars' other session titles (`stats.others`) by text, which the learned scorer's memory
embeds too: `title_embedder` answers every known title from memory, so loading a tool embeds
nothing it has embedded before.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bundlekd.knowledge_base.index.topk import shape_stable, stable_top_k
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.llm.embeddings import Embedder
from bundlekd.llm.known_vectors import KnownVectors

logger = logging.getLogger(__name__)

CACHE_PREFIX = "item_memory"


def cache_file(cache_dir: Path, embedder_id: str) -> Path:
    """One cache per embedder, so a tool with a tuned embedder and the KB's do not thrash."""
    from bundlekd.files import canonical_hash

    return cache_dir / f"{CACHE_PREFIX}-{canonical_hash(embedder_id, 10)}.npz"


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A training item near a query title, with the bundle it belonged to."""

    exemplar_id: str
    domain: str
    title: str
    score: float
    intent: str
    co_titles: tuple[str, ...]  # the other items of its bundle


@dataclass(frozen=True, slots=True)
class _Row:
    exemplar_id: str
    position: int


@dataclass
class _Cache:
    """A cache file's usable vectors: per (exemplar id, title position) a row of `vectors`,
    and per other session title (text) a row of `other_vectors`."""

    ids: list[str] = field(default_factory=list)  # per row of `vectors`, in file order
    positions: list[int] = field(default_factory=list)
    usable: list[bool] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    others: dict[str, int] = field(default_factory=dict)
    other_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    damaged: bool = False  # some of it was unusable: a writing build rewrites the file


class ItemMemory:
    """Per-title cosine index over active exemplar items."""

    def __init__(
        self,
        items: Sequence[KnowledgeItem],
        rows: list[_Row],
        vectors: np.ndarray,
        embedder: Embedder,
        *,
        other_titles: tuple[list[str], np.ndarray] | None = None,
        row_titles: list[str] | None = None,
    ) -> None:
        self.embedder = embedder
        self._items = {item.id: item for item in items}
        self._rows = rows
        self._vectors = vectors.astype(np.float32, copy=False)
        # Known vectors of the exemplars' other session titles (from the cache file), and the
        # title table built from both on first `title_embedder` call.
        self._other_titles = other_titles or ([], np.zeros((0, self._vectors.shape[1])))
        self._title_table: KnownVectors | None = None
        self._row_titles = row_titles  # each row's title, when the builder has them
        self._saved_learned = 0
        self._domains = np.array([self._items[r.exemplar_id].domain for r in rows], dtype=object)
        # Per domain, its rows (in memory order) and their vectors as one contiguous block: a
        # domain's query multiplies only that block, and no mask is rebuilt per call.
        self._blocks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for domain in sorted(set(self._domains.tolist())):
            where = np.flatnonzero(self._domains == domain)
            self._blocks[domain] = (where, np.ascontiguousarray(self._vectors[where]))
        #: Per row, its exemplar id and intent: what naming a group reads (`nearest_rows`).
        self.row_exemplar_ids = [r.exemplar_id for r in rows]
        self.row_intents = [str(self._items[r.exemplar_id].stats.get("intent", "")) for r in rows]

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def exemplar_ids(self) -> list[str]:
        return sorted(self._items)

    @classmethod
    def build(
        cls,
        items: Iterable[KnowledgeItem],
        embedder: Embedder,
        cache_dir: Path | None = None,
        *,
        write_cache: bool = False,
    ) -> ItemMemory:
        """Index the titles of every active exemplar; reuse cached vectors where they match."""
        exemplars = sorted(
            (i for i in items if i.kind == "exemplar" and i.status == "active"), key=lambda i: i.id
        )
        titles = {item.id: _titles(item) for item in exemplars}
        ids = [item.id for item in exemplars for _ in titles[item.id]]
        positions = [p for item in exemplars for p in range(len(titles[item.id]))]
        rows = [_Row(i, p) for i, p in zip(ids, positions, strict=True)]
        cache = _read_cache(cache_dir, embedder) if cache_dir else _Cache()
        missing: list[int] = []
        if ids and cache.ids == ids and cache.positions == positions and all(cache.usable):
            vectors = cache.vectors  # the common case: the file is this memory's, row for row
            known_rows = len(rows)
        else:
            at_row = {
                (i, p): k
                for k, (i, p, ok) in enumerate(
                    zip(cache.ids, cache.positions, cache.usable, strict=True)
                )
                if ok
            }
            found = [at_row.get((r.exemplar_id, r.position)) for r in rows]
            missing = [k for k, at in enumerate(found) if at is None]
            fresh = None
            if missing:
                texts = [titles[rows[k].exemplar_id][rows[k].position] for k in missing]
                fresh = embedder.embed_batch(texts)
            dim = fresh.shape[1] if fresh is not None else cache.vectors.shape[1]
            vectors = np.zeros((len(rows), dim if rows else embedder.dim), dtype=np.float32)
            have = [(k, at) for k, at in enumerate(found) if at is not None]
            if have:
                vectors[[k for k, _ in have]] = cache.vectors[[at for _, at in have]]
            if fresh is not None:
                vectors[missing] = fresh
            known_rows = len(at_row)
        # Other titles that are some exemplar's title have a row already.
        titled = {t for found_titles in titles.values() for t in found_titles}
        wanted = sorted({t for item in exemplars for t in _others(item)} - titled)
        known = [t for t in wanted if t in cache.others]
        other_vectors = cache.other_vectors[[cache.others[t] for t in known]]
        memory = cls(
            exemplars,
            rows,
            vectors,
            embedder,
            other_titles=(known, other_vectors),
            row_titles=[t for item in exemplars for t in titles[item.id]],
        )
        stale = known_rows + len(missing) != len(rows) or len(known) != len(cache.others)
        stale = stale or cache.damaged
        if cache_dir is not None and write_cache and (missing or stale):
            memory.save(cache_dir, embedder.model_id)
        return memory

    def title_embedder(self) -> KnownVectors:
        """This memory's embedder behind every title vector it knows (the exemplars' titles
        and the cached other titles of their sessions): what the learned scorer's memories
        embed their titles with, so known titles are never embedded again. One table per
        memory: titles it has to embed are kept, and `save` writes them to the cache."""
        if self._title_table is None:
            texts = self._row_titles
            if texts is None:
                by_id: dict[str, list[str]] = {}
                texts = []
                for row in self._rows:
                    titles = by_id.get(row.exemplar_id)
                    if titles is None:
                        titles = by_id[row.exemplar_id] = _titles(self._items[row.exemplar_id])
                    texts.append(titles[row.position])
            known, vectors = self._other_titles
            dim = self._vectors.shape[1]
            table = np.concatenate([self._vectors, vectors.reshape(len(known), dim)])
            self._title_table = KnownVectors(self.embedder, texts + list(known), table)
        return self._title_table

    @property
    def unsaved_titles(self) -> int:
        """Titles `title_embedder` embedded since this memory was built or saved."""
        learned = len(self._title_table.learned) if self._title_table is not None else 0
        return learned - self._saved_learned

    def save(self, cache_dir: Path, embedder_id: str) -> None:
        """Write the title vectors (atomically) for the next `build` to reuse."""
        import io

        from bundlekd.files import atomic_write_bytes

        texts, vectors = self._known_other_titles()
        buffer = io.BytesIO()
        np.savez(
            buffer,
            vectors=self._vectors,
            ids=np.array([r.exemplar_id for r in self._rows]),
            positions=np.array([r.position for r in self._rows], dtype=np.int32),
            # UTF-8 JSON: a fixed-width unicode array would take 4 bytes x the longest title
            other_titles=np.frombuffer(json.dumps(texts).encode(), dtype=np.uint8),
            other_vectors=vectors,
            meta=np.array(json.dumps({"embedder_id": embedder_id})),
        )
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cache_file(cache_dir, embedder_id), buffer.getvalue())
        if self._title_table is not None:
            self._saved_learned = len(self._title_table.learned)

    def _known_other_titles(self) -> tuple[list[str], np.ndarray]:
        """The other session titles of this memory's exemplars whose vectors are known (from
        the cache, or embedded since by `title_embedder`), sorted."""
        dim = self._vectors.shape[1]
        if self._title_table is None:
            known, vectors = self._other_titles
            return list(known), vectors.reshape(len(known), dim).astype(np.float32)
        table = self._title_table
        titled = {t for item in self._items.values() for t in _titles(item)}
        others = {t for item in self._items.values() for t in _others(item)} - titled
        texts = sorted(t for t in others if t in table)
        rows = [table.vector_of(t) for t in texts]
        return texts, (np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32))

    def nearest(
        self, titles: Sequence[str], k: int, *, domain: str | None = None
    ) -> list[list[Neighbour]]:
        """For each title, its k nearest training items (most similar first).

        `domain` restricts the memory to one domain when it has exemplars of that domain.
        """
        if not titles or k <= 0 or not self._rows:
            return [[] for _ in titles]
        return self.nearest_vectors(self.embedder.embed_batch(list(titles)), k, domain=domain)

    def nearest_vectors(
        self, queries: np.ndarray, k: int, *, domain: str | None = None
    ) -> list[list[Neighbour]]:
        """`nearest` for already embedded titles (unit-norm rows)."""
        rows, scores = self.nearest_rows(queries, k, domain=domain)
        return [
            [self._neighbour(int(i), float(s)) for i, s in zip(r, v, strict=True)]
            for r, v in zip(rows, scores, strict=True)
        ]

    def nearest_rows(
        self,
        queries: np.ndarray,
        k: int,
        *,
        domain: str | None = None,
        scores: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores), each (len(queries), k'): the memory rows nearest each query, most
        similar first (ties: memory order), and their cosines; k' = min(k, rows searched).

        `domain` searches only that domain's rows when it has any (else all of them).
        `scores`: the queries' products with the searched rows, when the caller has them
        (`domain_block`'s order), so they are not computed again.
        """
        empty = np.zeros((len(queries), 0))
        if len(queries) == 0 or k <= 0 or not self._rows:
            return empty.astype(np.intp), empty.astype(np.float32)
        block = self._blocks.get(domain) if domain is not None else None
        if scores is None and block is not None:
            rows, dim = block[1].shape
            if not shape_stable(len(queries), rows, dim):
                return self._nearest_masked(queries, k, block[0])
        where, vectors = block if block is not None else (None, self._vectors)
        if scores is None:
            scores = queries @ vectors.T
        top = stable_top_k(scores, k)
        found = np.take_along_axis(scores, top, axis=1)
        return (top if where is None else where[top]), found

    def _nearest_masked(
        self, queries: np.ndarray, k: int, where: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """`nearest_rows` over the whole memory with the other domains masked: for products
        too small to be shape-stable, the same product (and bits) as ever."""
        scores = queries @ self._vectors.T
        mask = np.full(len(self._rows), False)
        mask[where] = True
        scores = np.where(mask, scores, -np.inf)
        top = stable_top_k(scores, min(k, len(where)))
        return top, np.take_along_axis(scores, top, axis=1)

    def domain_block(self, domain: str) -> np.ndarray | None:
        """The vectors `nearest_rows(domain=domain)` searches, when the domain has rows."""
        block = self._blocks.get(domain)
        return None if block is None else block[1]

    def _neighbour(self, index: int, score: float) -> Neighbour:
        row = self._rows[index]
        item = self._items[row.exemplar_id]
        titles = _titles(item)
        return Neighbour(
            exemplar_id=item.id,
            domain=item.domain,
            title=titles[row.position],
            score=score,
            intent=str(item.stats.get("intent", "")),
            co_titles=tuple(t for p, t in enumerate(titles) if p != row.position),
        )


def _titles(item: KnowledgeItem) -> list[str]:
    titles = item.stats.get("titles")
    return [str(t) for t in titles] if isinstance(titles, list) else []


def _others(item: KnowledgeItem) -> list[str]:
    """The exemplar's session titles outside its bundle (`memory_sessions` embeds them)."""
    others = item.stats.get("others")
    return [str(t) for t in others] if isinstance(others, list) else []


def _read_cache(cache_dir: Path, embedder: Embedder) -> _Cache:
    """Cached title vectors (rows by (exemplar id, position), other titles by text); whatever
    is unusable is left out, so `build` re-embeds it and (when it writes) rebuilds the file.
    Damaged other titles cost only those (the rows are kept). Never raises."""
    path = cache_file(cache_dir, embedder.model_id)
    if not path.is_file():
        return _Cache()
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if not isinstance(meta, dict) or meta.get("embedder_id") != embedder.model_id:
                return _Cache()
            ids, positions, vectors = data["ids"], data["positions"], data["vectors"]
            if vectors.ndim != 2 or vectors.shape[1] != embedder.dim:
                raise ValueError(
                    f"vectors of shape {vectors.shape}, the embedder gives {embedder.dim}"
                )
            if not len(ids) == len(positions) == len(vectors):
                raise ValueError("ids, positions and vectors differ in length")
            vectors = vectors.astype(np.float32, copy=False)
            usable = _usable(vectors)
            cache = _Cache(
                ids=[str(i) for i in ids.tolist()],
                positions=[int(p) for p in positions.tolist()],
                usable=usable.tolist(),
                vectors=vectors,
            )
            others_bad = _read_others(data, embedder.dim, cache, path)
    except Exception as exc:  # any damage (zip, npy, shapes): rebuild, never fatal
        logger.warning("%s: unreadable item-memory cache (%s); re-embedding", path, exc)
        return _Cache()
    bad = int((~usable).sum()) + others_bad
    if bad:
        cache.damaged = True
        logger.warning(
            "%s: %d cached vector(s) are NaN, infinite or zero; re-embedding them", path, bad
        )
    return cache


def _read_others(data: Any, dim: int, cache: _Cache, path: Path) -> int:
    """Fill `cache.others` from the file's other titles (files written before they were
    cached have none: they are embedded); returns how many vectors were unusable. Damaged
    other titles are left out whole (`cache.damaged`), with a warning."""
    if "other_titles" not in data:
        return 0
    try:
        texts = json.loads(data["other_titles"].tobytes())
        others = data["other_vectors"]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ValueError("other titles are not a list of strings")
        if others.ndim != 2 or others.shape != (len(texts), dim):
            raise ValueError(f"{len(texts)} other titles, vectors of shape {others.shape}")
    except Exception as exc:
        logger.warning("%s: unreadable other titles (%s); re-embedding them", path, exc)
        cache.damaged = True
        return 0
    others = others.astype(np.float32, copy=False)
    usable = _usable(others)
    pairs = enumerate(zip(texts, usable.tolist(), strict=True))
    cache.others = {text: row for row, (text, ok) in pairs if ok}
    cache.other_vectors = others
    return int((~usable).sum())


def _usable(vectors: np.ndarray) -> np.ndarray:
    """Rows that are finite and not (near) zero."""
    finite = np.isfinite(vectors).all(axis=1)
    squares = np.einsum("ij,ij->i", np.where(finite[:, None], vectors, 0.0), vectors)
    usable: np.ndarray = finite & (squares > 1e-12)
    return usable
