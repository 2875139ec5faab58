"""Category inference from titles: nearest training neighbour, and no peeking at test labels."""

from __future__ import annotations

import pytest

from bundlekd.baselines.category_inference import CategoryInferencer
from bundlekd.data.schema import Bundle, Item, Session
from bundlekd.errors import KnowledgeBaseError, LeakageError
from bundlekd.llm.embeddings import HashingEmbedder

TRAIN = Session(
    session_id="t1",
    domain="electronic",
    split="train",
    items=(
        Item(
            item_id="E1",
            title="Nexwave Wireless Optical Mouse with Nano Receiver",
            categories=(("Electronics", "Computers & Accessories", "Mice"),),
        ),
        Item(
            item_id="E2",
            title="ArmorShell Slim Hybrid Phone Case, Shockproof Bumper",
            categories=(("Electronics", "Cell Phones & Accessories", "Cases"),),
        ),
        Item(
            item_id="E3",
            title="ClearGuard Tempered Glass Screen Protector (2-Pack)",
            categories=(("Electronics", "Cell Phones & Accessories", "Screen Protectors"),),
        ),
        Item(item_id="E4", title="Untitled gadget without categories"),
    ),
    bundles=(Bundle(items=("E2", "E3"), intent="Phone protection"),),
)


def _test_session(categories: tuple[tuple[str, ...], ...] | None = None) -> Session:
    return Session(
        session_id="q1",
        domain="electronic",
        split="test",
        items=(
            Item(item_id="X1", title="wireless mouse, optical, black", categories=categories),
            Item(item_id="X2", title="tempered glass screen protector", categories=categories),
            Item(item_id="X3", title="slim hybrid case shockproof", categories=categories),
        ),
        bundles=(Bundle(items=("X2", "X3")),),
    )


def _inferencer(**kwargs: object) -> CategoryInferencer:
    return CategoryInferencer(HashingEmbedder(), **kwargs).fit([TRAIN])  # type: ignore[arg-type]


def test_nearest_training_title_gives_the_category() -> None:
    guesses = _inferencer().infer_session(_test_session())
    assert [g.item_id for g in guesses] == ["X1", "X2", "X3"]
    assert [g.label for g in guesses] == ["Mice", "Screen Protectors", "Cases"]
    assert [g.neighbour_id for g in guesses] == ["E1", "E3", "E2"]
    assert all(0.0 < g.similarity <= 1.0 + 1e-6 for g in guesses)
    assert guesses[0].neighbour_title.startswith("Nexwave")


def test_level_changes_the_label() -> None:
    guesses = _inferencer(level="depth-2").infer_session(_test_session())
    assert [g.label for g in guesses] == [
        "Computers & Accessories",
        "Cell Phones & Accessories",
        "Cell Phones & Accessories",
    ]


def test_test_categories_are_never_read() -> None:
    """Leak guard: a poisoned category on the test items changes nothing (titles only)."""
    inferencer = _inferencer()
    clean = inferencer.infer_session(_test_session().public())
    poisoned = inferencer.infer_session(_test_session(categories=(("Poison", "Leak"),)))
    assert poisoned == clean
    assert all(g.label != "Leak" for g in poisoned)


def test_fit_refuses_test_sessions_and_skips_uncategorised_items() -> None:
    with pytest.raises(LeakageError, match="test split feed category inference"):
        CategoryInferencer(HashingEmbedder()).fit([TRAIN, _test_session()])
    inferencer = _inferencer()
    assert inferencer.domains == ["electronic"]
    assert {g.neighbour_id for g in inferencer.infer_session(_test_session())} <= {"E1", "E2", "E3"}


def test_unknown_domain_and_similarity_floor() -> None:
    other = _test_session().model_copy(update={"domain": "food"})
    with pytest.raises(KnowledgeBaseError, match="no training items"):
        _inferencer().infer([other])
    unsure = _inferencer(min_similarity=0.99).infer_session(_test_session())
    assert all(g.label is None and g.neighbour_id == "" for g in unsure)
    assert _inferencer().infer([]) == []


def test_neighbour_vote() -> None:
    # With k=3 every reference votes; the nearest label still wins its own item.
    guesses = _inferencer(k=3).infer_session(_test_session())
    assert [g.label for g in guesses] == ["Mice", "Screen Protectors", "Cases"]
