"""The AICL-parity fixture.

The parity fixture is six sessions in the AICL reference format (item ids, GT bundles, and model
outputs as ``{"bundleK": ["productI", ...]}``), mirrored here as our Session/Prediction records.
The reference code was run once on it (outside this repository; not vendored) and its numbers
are recorded in test_eval_reference_parity.py.
"""

from __future__ import annotations

import pytest
from eval_builders import ids, make_prediction, make_session, products

from bundlekd.data.schema import Prediction, Session


@pytest.fixture
def parity_case() -> tuple[list[Prediction], list[Session]]:
    """Six sessions covering every case the reference pipeline treats specially.

    1. overlapping GT {a1..a4}, {a3,a4,a5}; outputs {a3,a4} (inside both), {a1,a2}, {a5,a6}, {a6}
    2. ten items, GT {b8,b9,b10}; outputs {product9, product10}, {product1, product2}
    3. outputs only 1-item bundles           -> dropped by the reference (process_results)
    4. outputs nothing                       -> dropped by the reference (process_results)
    5. output did not parse                  -> never enters the reference's dict
    6. one GT {e1..e4}; outputs {e1,e2}, {e3,e4} (2024 recall 2.0: every piece counts)
    """
    a, b, c, d, u, e = ids("a", 6), ids("b", 10), ids("c", 4), ids("d", 3), ids("u", 5), ids("e", 5)
    gold = [
        make_session("1", a, [a[0:4], a[2:5]]),
        make_session("2", b, [b[7:10]]),
        make_session("3", c, [c[0:2]]),
        make_session("4", d, [d[0:2]]),
        make_session("5", u, [u[0:2]]),
        make_session("6", e, [e[0:4]]),
    ]
    predictions = [
        make_prediction("1", [products(a, 3, 4), products(a, 1, 2), products(a, 5, 6), [a[5]]]),
        make_prediction("2", [products(b, 9, 10), products(b, 1, 2)]),
        make_prediction("3", [[c[0]], [c[1]]]),
        make_prediction("4", []),
        make_prediction("5", [], parsed=False),
        make_prediction("6", [products(e, 1, 2), products(e, 3, 4)]),
    ]
    return predictions, gold
