"""One matrix product per domain for every memory lookup of a batch of sessions.

The learned scorer compares a session's titles with its domain memory's slots, and naming a
group compares them with the item memory's rows of that domain: two products over mostly the
same training titles. `MemoryProducts` keeps, per domain, each distinct title vector once (equal
bytes, so equal dot products) and maps slots and rows onto it; the titles of many sessions of
a domain go through one product (`session_products`), and each session gets its slices back.

A large product's entry depends only on its two vectors (`index.topk.shape_stable`): sessions
whose separate products would be too small for that are left out (None: the caller computes
the separate products), so the scores are the ones the separate products give, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bundlekd.knowledge_base.grouping.memory import DomainMemory
from bundlekd.knowledge_base.index.topk import shape_stable
from bundlekd.knowledge_base.retrieval.item_memory import ItemMemory

ROWS_PER_PRODUCT = 512  # session titles per product: bounds the (rows, titles) scratch


@dataclass(frozen=True)
class DomainTitles:
    """A domain's distinct title vectors and where the slots and item rows find theirs."""

    vectors: np.ndarray  # (distinct, d), a view of a C-contiguous (d, distinct) array
    slots: np.ndarray  # domain-memory slot -> distinct row
    rows: np.ndarray  # item-memory domain row (its search block order) -> distinct row

    def shares(self, block: np.ndarray) -> bool:
        """Whether this session's separate products are large enough to be shape-stable."""
        narrowest = min(len(self.slots), len(self.rows))
        return shape_stable(len(block), narrowest, self.vectors.shape[1])


@dataclass(frozen=True)
class SessionProducts:
    """One session's similarities to its domain memory's slots and to the item memory."""

    to_memory: np.ndarray  # (n, slots), as `titles @ memory.vectors.T`
    to_items: np.ndarray  # (n, domain rows), as the item memory's own product


class MemoryProducts:
    """Shared products for the domains both memories hold (others: None, the caller falls
    back to the separate products)."""

    def __init__(self, memories: dict[str, DomainMemory], items: ItemMemory) -> None:
        self.domains: dict[str, DomainTitles] = {}
        for domain, memory in sorted(memories.items()):
            block = items.domain_block(domain)
            if block is None:
                continue
            distinct: dict[bytes, int] = {}
            slots = [distinct.setdefault(v.tobytes(), len(distinct)) for v in memory.vectors]
            rows = [distinct.setdefault(v.tobytes(), len(distinct)) for v in block]
            table = np.frombuffer(b"".join(distinct), dtype=memory.vectors.dtype)
            # Stored transposed (d, distinct), so `titles @ vectors.T` reads a C-contiguous
            # right operand: BLAS's NN path, faster for a few rows than NT over the same
            # bytes, with the same per-entry sums (the shape-stability test checks both).
            transposed = np.ascontiguousarray(table.reshape(len(distinct), -1).T)
            self.domains[domain] = DomainTitles(
                transposed.T,
                np.array(slots, dtype=np.intp),
                np.array(rows, dtype=np.intp),
            )

    def session_products(
        self, domains: Sequence[str], blocks: Sequence[np.ndarray]
    ) -> list[SessionProducts | None]:
        """Per session (its domain, its (n, d) title vectors), its products, or None when the
        domain is not shared; sessions of one domain share products of up to
        ROWS_PER_PRODUCT titles."""
        found: list[SessionProducts | None] = [None] * len(blocks)
        # Grouped by dtype too: stacking must not promote a block (its product would change).
        by_domain: dict[tuple[str, str], list[int]] = {}
        for k, (domain, block) in enumerate(zip(domains, blocks, strict=True)):
            if domain in self.domains and self.domains[domain].shares(block):
                by_domain.setdefault((domain, block.dtype.str), []).append(k)
        for (domain, _), members in by_domain.items():
            titles = self.domains[domain]
            for chunk in _chunks(members, [len(blocks[k]) for k in members]):
                stacked = np.concatenate([blocks[k] for k in chunk])
                product = stacked @ titles.vectors.T
                to_memory, to_items = product[:, titles.slots], product[:, titles.rows]
                start = 0
                for k in chunk:
                    end = start + len(blocks[k])
                    found[k] = SessionProducts(to_memory[start:end], to_items[start:end])
                    start = end
        return found


def _chunks(members: list[int], sizes: list[int]) -> list[list[int]]:
    """Consecutive groups of sessions of at most ROWS_PER_PRODUCT titles (at least one)."""
    chunks: list[list[int]] = [[]]
    rows = 0
    for member, size in zip(members, sizes, strict=True):
        if chunks[-1] and rows + size > ROWS_PER_PRODUCT:
            chunks.append([])
            rows = 0
        chunks[-1].append(member)
        rows += size
    return chunks
