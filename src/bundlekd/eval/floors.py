"""Trivial baselines that every reported number is read against.

On the AICL test splits any pair of items already scores about 0.44 strict precision, because
most items of a session sit in some GT bundle. A precision figure only means something next to
its recall and this floor (DESIGN.md §3), so the report prints the floor beside every method.
"""

from __future__ import annotations

from collections.abc import Sequence

from bundlekd.data.schema import Bundle, Prediction, Session

PAIR_FLOOR_METHOD = "pair-floor"


def pair_floor(gold_sessions: Sequence[Session]) -> list[Prediction]:
    """Predict products 1 and 2 as the only bundle of every session.

    Args:
        gold_sessions: the sessions to predict for (only their item order is read).

    Returns:
        One valid prediction per session; a 1-item session gets an empty (unusable) output.

    Example:
        >>> from bundlekd.data.schema import Item
        >>> s = Session(session_id="1", domain="d", items=(Item(item_id="a", title="A"),
        ...     Item(item_id="b", title="B"), Item(item_id="c", title="C")))
        >>> [b.items for b in pair_floor([s])[0].bundles]
        [('a', 'b')]
    """
    predictions = []
    for session in gold_sessions:
        first_two = tuple(item.item_id for item in session.items[:2])
        bundles = (
            (Bundle(items=first_two, intent="products 1 and 2"),) if len(first_two) == 2 else ()
        )
        predictions.append(
            Prediction(
                session_id=session.session_id,
                domain=session.domain,
                bundles=bundles,
                method=PAIR_FLOOR_METHOD,
            )
        )
    return predictions
