"""Shared memory products: the same scores as the separate per-session products, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bundlekd.app.tool_fitting import fit_tool
from bundlekd.data.sources import load_sample
from bundlekd.knowledge_base.distill.runner import distill
from bundlekd.knowledge_base.grouping.products import MemoryProducts
from bundlekd.knowledge_base.kb import KnowledgeBase


def test_a_products_entry_does_not_depend_on_the_matrix_shapes() -> None:
    """What sharing and batching rely on: BLAS gives each entry of a product the same bits
    whatever the other rows and columns (here with the real shapes: 384-d, thousands of rows)."""
    rng = np.random.default_rng(0)
    table = rng.standard_normal((3000, 384)).astype(np.float32)
    blocks = [rng.standard_normal((int(rng.integers(2, 11)), 384)).astype(np.float32)]
    blocks += [rng.standard_normal((int(rng.integers(2, 11)), 384)).astype(np.float32)]
    blocks *= 20
    stacked = np.concatenate(blocks) @ table.T
    columns = rng.permutation(3000)[:1700]
    start = 0
    transposed = np.ascontiguousarray(table.T)  # the layout MemoryProducts multiplies with
    for block in blocks:
        alone = block @ table.T
        assert np.array_equal(stacked[start : start + len(block)], alone)
        assert np.array_equal(block @ table[columns].T, alone[:, columns])
        assert np.array_equal(block @ transposed, alone)
        start += len(block)


class _Memory:
    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors


class _Items:
    def __init__(self, blocks: dict[str, np.ndarray]) -> None:
        self.blocks = blocks

    def domain_block(self, domain: str) -> np.ndarray | None:
        return self.blocks.get(domain)


def test_shared_products_equal_the_separate_ones_bit_for_bit() -> None:
    rng = np.random.default_rng(1)
    titles = rng.standard_normal((4000, 384)).astype(np.float32)
    slots = titles[rng.integers(0, 4000, 4300)]  # repeated titles, as in real memories
    rows = titles[rng.integers(0, 4000, 2900)]
    small = titles[:40]
    products = MemoryProducts(
        {"big": _Memory(slots), "small": _Memory(small)},  # type: ignore[dict-item]
        _Items({"big": rows, "small": small}),  # type: ignore[arg-type]
    )
    assert len(products.domains["big"].vectors) < len(slots) + len(rows)  # shared titles
    blocks = [rng.standard_normal((int(rng.integers(1, 11)), 384)).astype(np.float32)]
    blocks += [rng.standard_normal((int(rng.integers(2, 11)), 384)).astype(np.float32)]
    blocks = blocks * 40  # more titles than one product takes: several chunks
    domains = ["big"] * len(blocks)
    domains[3] = "small"
    found = products.session_products(domains, blocks)
    for domain, block, product in zip(domains, blocks, found, strict=True):
        if domain == "small" or len(block) < 2:  # too small to be shape-stable: not shared
            assert product is None
            continue
        assert product is not None
        assert product.to_memory.tobytes() == (block @ slots.T).tobytes()
        assert product.to_items.tobytes() == (block @ rows.T).tobytes()


def test_the_tool_proposes_the_same_batched_or_alone(tmp_path: Path) -> None:
    dataset = load_sample()
    kb = KnowledgeBase.create(tmp_path / "kb", embedder="hashing", index="numpy")
    distill(dataset.split("train"), kinds=["exemplar"], kb_dir=kb.kb_dir, kb=kb)
    tool = fit_tool(kb, dataset.split("train"), dataset.split("val"), kb.embedder, scorer="learned")
    sessions = dataset.split("test") + dataset.split("val")
    first = tool._shared_products()
    assert isinstance(first, MemoryProducts)
    assert tool._shared_products() is first  # built once
    batched = tool.propose(sessions)
    assert batched == [tool.propose([s])[0] for s in sessions]
    assert any(found for found in batched)
    vectors, matrices = tool.score(sessions)
    alone = tool.scorer.score([s.public() for s in sessions], vectors)  # no shared products
    for matrix, reference in zip(matrices, alone, strict=True):
        assert matrix.tobytes() == reference.tobytes()
    tool.memory = kb.item_memory(kb.embedder)  # another item memory: products rebuilt
    assert tool._shared_products() is not first
    assert tool.propose(sessions) == batched
