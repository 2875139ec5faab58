"""The trivial floor: products 1 and 2 as the one bundle of every session.

Most items of an AICL session sit in some GT bundle, so this already scores about 0.44 strict
precision (DESIGN.md §3); every other method is read against it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bundlekd.data.schema import Bundle, Prediction, Session

METHOD = "pair"


def predict_pairs(sessions: Sequence[Session]) -> list[Prediction]:
    """Predict products 1 and 2 (session order) as one bundle per session.

    Args:
        sessions: Sessions to predict for; only their item order is read.

    Returns:
        One valid prediction per session; a 1-item session gets no bundle.

    Example:
        >>> from bundlekd.data.schema import Item
        >>> s = Session(session_id="1", domain="d", items=(Item(item_id="a", title="A"),
        ...     Item(item_id="b", title="B"), Item(item_id="c", title="C")))
        >>> [b.items for b in predict_pairs([s])[0].bundles]
        [('a', 'b')]
    """
    predictions = []
    for session in sessions:
        first_two = tuple(item.item_id for item in session.items[:2])
        bundles = (
            (Bundle(items=first_two, intent="products 1 and 2"),) if len(first_two) == 2 else ()
        )
        predictions.append(
            Prediction(
                session_id=session.session_id,
                domain=session.domain,
                bundles=bundles,
                valid=True,
                method=METHOD,
            )
        )
    return predictions
