"""The trivial floor as a baseline command: products 1 and 2 as the one bundle of every session.

Most items of an AICL session sit in some GT bundle, so this already scores about 0.44 strict
precision (DESIGN.md §3). The evaluator prints the same floor beside every method; this module
only gives it the baseline's method name, so both always compute the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

from bundlekd.data.schema import Prediction, Session
from bundlekd.eval.floors import pair_floor

METHOD = "pair"


def predict_pairs(sessions: Sequence[Session]) -> list[Prediction]:
    """Predict products 1 and 2 (session order) as one bundle per session.

    Returns:
        One valid prediction per session; a 1-item session gets no bundle.
    """
    return [p.model_copy(update={"method": METHOD}) for p in pair_floor(sessions)]
