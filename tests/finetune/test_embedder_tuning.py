"""`finetune embedder`: leakage guard, a real (tiny) MiniLM run, the folder round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundlekd.data.sources import load_sample
from bundlekd.errors import DataError, LeakageError
from bundlekd.finetune.embedder import build_triples, read_card, tune_embedder
from bundlekd.finetune.embedder_config import EmbedderTuneConfig


def test_only_training_sessions_teach_and_test_never_chooses() -> None:
    dataset = load_sample()
    cfg = EmbedderTuneConfig()
    with pytest.raises(LeakageError, match="only train data may feed it"):
        build_triples([*dataset.split("train"), dataset.split("test")[0]], cfg)
    with pytest.raises(LeakageError, match="only train data may feed it"):
        build_triples(dataset.split("val"), cfg)
    with pytest.raises(LeakageError, match="choosing the embedder"):
        tune_embedder(dataset.split("train"), dataset.split("test"), "unused", cfg)


def test_triples_pair_co_bundled_items_with_a_same_session_negative() -> None:
    train = load_sample().split("train")
    triples = build_triples(train, EmbedderTuneConfig(pairs_per_bundle=1))
    assert len(triples) <= sum(len(s.bundles or ()) for s in train)
    session_of = {}
    bundle_of = {}
    for session in train:
        for item in session.items:
            session_of.setdefault(item.title, set()).add(session.key)
        for index, bundle in enumerate(session.bundles or ()):
            for item_id in bundle.items:
                title = next(i.title for i in session.items if i.item_id == item_id)
                bundle_of.setdefault(title, set()).add((session.key, index))
    for t in triples:
        assert bundle_of[t.anchor] & bundle_of[t.positive]  # bought together for one intent
        assert not bundle_of.get(t.negative, set()) & bundle_of[t.anchor] & bundle_of[t.positive]
    assert triples == build_triples(train, EmbedderTuneConfig(pairs_per_bundle=1))  # seeded


def test_tuned_folder_is_a_usable_self_describing_embedder(tmp_path: Path) -> None:
    from bundlekd.llm.embeddings import get_embedder

    dataset = load_sample()
    out = tmp_path / "emb"
    cfg = EmbedderTuneConfig(epochs=1, threads=1)
    card = tune_embedder(dataset.split("train"), dataset.split("val"), out, cfg)
    assert card["kind"] == "tuned-embedder"
    assert [e["epoch"] for e in card["epochs"]] == [0, 1]
    assert card["epochs"][1]["cpu_seconds"] > 0
    assert card["best_epoch"] in (0, 1)
    assert card["splits"]["chosen_on"] == "val"
    assert read_card(out) == card
    vectors = get_embedder(str(out)).embed_batch(["USB flash drive", "wool socks"])
    assert vectors.shape == (2, 384)
    # A second run finds the finished folder and does not train again.
    assert tune_embedder(dataset.split("train"), dataset.split("val"), out, cfg) == card
    with pytest.raises(DataError, match="not a tuned embedder"):
        read_card(tmp_path)
