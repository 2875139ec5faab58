"""VectorIndex contract, run against every backend with the real MiniLM embedder.

Backends: numpy (exact), faiss (exact), chroma embedded (PersistentClient in tmp_path) and
chroma server mode (`chroma run --path ... --port ...` started as a subprocess).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bundlekd.errors import KnowledgeBaseError
from bundlekd.files import canonical_hash
from bundlekd.knowledge_base.index.base import NumpyIndex, VectorIndex

DOCS = [
    "Phone cases are usually bought together with tempered glass screen protectors.",
    "A laptop is often bundled with a padded laptop sleeve and a wireless mouse.",
    "Gaming consoles go with an extra controller and a charging dock.",
    "Printers are bought with spare ink cartridges and printer paper.",
    "Cameras are bundled with a memory card, a spare battery and a camera bag.",
    "Headphones pair with a carrying case and an audio extension cable.",
    "Smart watches come with extra watch bands and a charging cable.",
    "Running shoes are bought with moisture-wicking athletic socks.",
    "Winter coats are bundled with a knitted scarf and warm gloves.",
    "A wedding dress goes with a veil and bridal jewelry.",
    "Men's suits are sold with a dress shirt and a silk tie.",
    "Swimsuits are bought together with a beach towel and sunglasses.",
    "Yoga pants are bundled with a sports bra and a yoga mat.",
    "Baby onesies come in packs with matching bibs and socks.",
    "Pasta is bought with tomato sauce and grated parmesan cheese.",
    "Coffee beans are bundled with paper filters and a coffee grinder.",
    "Tea assortments go with honey and a tea infuser.",
    "Protein powder is bought together with a shaker bottle.",
    "Baking flour is bundled with sugar, yeast and baking powder.",
    "Tortilla chips go with salsa and guacamole dip.",
    "Breakfast cereal is bought with milk and fresh berries.",
    "Olive oil is bundled with balsamic vinegar and sea salt.",
    "Dog food is bought with dog treats and a chew toy.",
    "Garden hoses come with a spray nozzle and hose reel.",
    "Paint brushes are bundled with acrylic paint and a canvas.",
    "Board games are bought with card sleeves and dice sets.",
    "Bicycles are sold with a helmet and a bike lock.",
    "Tents are bundled with sleeping bags and camping lanterns.",
    "Kitchen knives come with a knife sharpener and a cutting board.",
    "Toothbrushes are bought together with toothpaste and dental floss.",
]
QUERIES = {
    "iPhone 15 silicone case; 9H glass screen guard for iPhone 15": 0,
    "15-inch notebook computer; neoprene sleeve; bluetooth mouse": 1,
    "HP inkjet printer; black ink cartridge XL; A4 copy paper 500 sheets": 3,
    "espresso roast whole bean coffee; burr grinder; #4 cone filters": 15,
    "nacho tortilla chips; medium chunky salsa jar": 19,
    "mountain bike 29er; cycling helmet; U-lock": 26,
    "kibble for adult dogs; rawhide chews; squeaky toy": 22,
    "fleece-lined parka; wool scarf; touchscreen gloves": 8,
}
BACKENDS = ["numpy", "faiss", "chroma", "chroma-http"]


@pytest.fixture(scope="module")
def embedded() -> tuple[np.ndarray, np.ndarray, str]:
    """Real all-MiniLM-L6-v2 vectors of DOCS and QUERIES (loaded once per module)."""
    from bundlekd.llm.embeddings import get_embedder

    embedder = get_embedder("minilm")
    docs = embedder.embed_batch(DOCS)
    queries = embedder.embed_batch(list(QUERIES))
    return docs, queries, embedder.model_id


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server on a free port; yields its URL, stops it afterwards."""
    pytest.importorskip("chromadb")
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        found = shutil.which("chroma")
        if found is None:
            pytest.skip("the `chroma` executable is not installed next to python")
        exe = Path(found)
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("w")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(data / "db"), "--port", str(port), "--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma server did not start: {(data / 'server.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _make(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> VectorIndex:
    if backend == "numpy":
        return NumpyIndex(tmp_path / "numpy")
    if backend == "faiss":
        pytest.importorskip("faiss")
        from bundlekd.knowledge_base.index.faiss_index import FaissIndex

        return FaissIndex(tmp_path / "faiss")
    pytest.importorskip("chromadb")
    from bundlekd.knowledge_base.index.chroma_index import ChromaIndex

    if backend == "chroma":
        return ChromaIndex(tmp_path / "chroma")
    url = request.getfixturevalue("chroma_server")
    # The server outlives one test: give each test its own collection.
    return ChromaIndex(url=url, collection_name=f"test-{canonical_hash(request.node.nodeid, 10)}")


@pytest.fixture(params=BACKENDS)
def make_index(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A factory: each call opens a fresh handle on the same on-disk (or server) index."""
    return lambda: _make(request.param, tmp_path, request)


def _filled(make_index, embedded) -> VectorIndex:  # type: ignore[no-untyped-def]
    docs, _, model_id = embedded
    index = make_index()
    index.load()
    index.reset(model_id, docs.shape[1])
    ids = [f"doc{j:02d}" for j in range(len(DOCS))]
    index.upsert(ids, docs, [{"kind": "rule", "domain": "d", "n": j} for j in range(len(ids))])
    index.save()
    return index


def test_each_doc_finds_itself_first(make_index, embedded) -> None:  # type: ignore[no-untyped-def]
    docs, _, _ = embedded
    index = _filled(make_index, embedded)
    hits = index.search(docs, k=3)
    assert [row[0][0] for row in hits] == [f"doc{j:02d}" for j in range(len(DOCS))]
    assert all(abs(row[0][1] - 1.0) < 1e-3 for row in hits)
    assert all(row[0][1] >= row[1][1] >= row[2][1] for row in hits)


def test_paraphrased_query_recalls_the_obvious_neighbour(make_index, embedded) -> None:  # type: ignore[no-untyped-def]
    docs, queries, _ = embedded
    index = _filled(make_index, embedded)
    hits = index.search(queries, k=5)
    expected = [f"doc{j:02d}" for j in QUERIES.values()]
    top1 = [row[0][0] for row in hits]
    assert top1 == expected
    exact = NumpyIndex("unused")
    exact.upsert([f"doc{j:02d}" for j in range(len(DOCS))], docs)
    for row, exact_row in zip(hits, exact.search(queries, k=5), strict=True):
        assert {i for i, _ in row} == {i for i, _ in exact_row}  # recall@5 vs exact = 1
        assert np.allclose([s for _, s in row], [s for _, s in exact_row], atol=1e-4)


def test_filter_delete_overwrite_and_vectors(make_index, embedded) -> None:  # type: ignore[no-untyped-def]
    docs, queries, _ = embedded
    index = _filled(make_index, embedded)
    allowed = ["doc05", "doc10", "doc20"]
    hits = index.search(queries[:2], k=10, filter_ids=allowed)
    assert all({i for i, _ in row} == set(allowed) for row in hits)
    assert index.search(queries[:1], k=5, filter_ids=["not-there"]) == [[]]
    index.delete(["doc00", "doc01", "missing"])
    assert len(index) == len(DOCS) - 2
    assert "doc00" not in {i for i, _ in index.search(docs[:1], k=5)[0]}
    index.upsert(["doc02"], docs[:1])  # overwrite: doc02 now holds doc00's vector
    assert len(index) == len(DOCS) - 2
    assert index.search(docs[:1], k=1)[0][0][0] == "doc02"
    got = index.get_vectors(["doc03", "doc02"])
    assert np.allclose(got, np.stack([docs[3], docs[0]]), atol=1e-5)
    with pytest.raises(KnowledgeBaseError):
        index.get_vectors(["doc00"])


def test_persists_and_records_the_embedder(make_index, embedded) -> None:  # type: ignore[no-untyped-def]
    docs, queries, model_id = embedded
    first = _filled(make_index, embedded)
    before = first.search(queries, k=3)
    reopened = make_index()
    assert reopened.load() is True
    assert reopened.embedder_id == model_id
    assert reopened.dim == docs.shape[1]
    assert sorted(reopened.ids()) == sorted(first.ids())
    after = reopened.search(queries, k=3)
    assert [[i for i, _ in row] for row in after] == [[i for i, _ in row] for row in before]
    reopened.reset(model_id, docs.shape[1])
    assert len(reopened) == 0
    assert reopened.search(queries[:1], k=3) == [[]]


def test_k_larger_than_the_index(make_index, embedded) -> None:  # type: ignore[no-untyped-def]
    docs, _, model_id = embedded
    index = make_index()
    assert index.load() is False
    index.reset(model_id, docs.shape[1])
    index.upsert(["a-1", "b-2"], docs[:2])
    hits = index.search(docs[:1], k=10)[0]
    assert [i for i, _ in hits] == ["a-1", "b-2"]


def test_dimension_mismatch_is_refused(tmp_path: Path) -> None:
    index = NumpyIndex(tmp_path / "n")
    index.reset("e", 4)
    index.upsert(["w"], np.ones((1, 4), dtype=np.float32) / 2)
    with pytest.raises(KnowledgeBaseError, match="dim 3"):
        index.upsert(["x"], np.ones((1, 3), dtype=np.float32))


def test_corrupt_numpy_index_raises_on_load(tmp_path: Path) -> None:
    index = NumpyIndex(tmp_path / "n")
    index.reset("e", 2)
    index.upsert(["x", "y"], np.eye(2, dtype=np.float32))
    index.save()
    (tmp_path / "n" / "ids.json").write_text('["x"]')
    with pytest.raises(KnowledgeBaseError, match="unreadable"):
        NumpyIndex(tmp_path / "n").load()
