"""Record builders shared by the eval tests (imported as a plain module, not a conftest)."""

from __future__ import annotations

from collections.abc import Sequence

from bundlekd.data.schema import Bundle, Item, Prediction, Session


def make_session(
    session_id: str,
    item_ids: Sequence[str],
    gold: Sequence[Sequence[str]] | None,
    domain: str = "electronic",
) -> Session:
    items = tuple(Item(item_id=i, title=f"title of {i}") for i in item_ids)
    bundles = None if gold is None else tuple(Bundle(items=tuple(g)) for g in gold)
    return Session(session_id=session_id, domain=domain, items=items, bundles=bundles)


def make_prediction(
    session_id: str,
    bundles: Sequence[Sequence[str]],
    *,
    parsed: bool = True,
    domain: str = "electronic",
    method: str = "test-method",
) -> Prediction:
    return Prediction(
        session_id=session_id,
        domain=domain,
        bundles=tuple(Bundle(items=tuple(b)) for b in bundles),
        parsed=parsed,
        method=method,
    )


def ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{k}" for k in range(1, n + 1)]


def products(session_items: Sequence[str], *numbers: int) -> list[str]:
    """Item ids of "product N" references (1-based), as the reference maps them."""
    return [session_items[n - 1] for n in numbers]
