"""The pair floor on the real AICL test splits (needs BUNDLEKD_DATA_DIR).

Products 1 and 2 of every session, scored strict-2025. Recorded values (540 sessions, 180 per
domain; precision / recall / coverage / valid-output rate):
    electronic 0.4389 / 0.3903 / 0.6961 / 1.0
    clothing   0.4500 / 0.3824 / 0.7271 / 1.0
    food       0.4667 / 0.4208 / 0.6902 / 1.0
Whole-bundle metrics (exact P / exact R / GJS / pair F1 / BCubed F):
    electronic 0.1889 / 0.1685 / 0.3595 / 0.1312 / 0.7261
    clothing   0.2111 / 0.1833 / 0.3637 / 0.1468 / 0.7342
    food       0.1889 / 0.1671 / 0.3722 / 0.1341 / 0.7165
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bundlekd.data.aicl import load_aicl
from bundlekd.eval import evaluate, pair_floor

RECORDED = {
    "electronic": (0.4389, 0.3903, 0.6961),
    "clothing": (0.4500, 0.3824, 0.7271),
    "food": (0.4667, 0.4208, 0.6902),
}
WHOLE = {
    "electronic": (0.1889, 0.1685, 0.3595, 0.1312, 0.7261),
    "clothing": (0.2111, 0.1833, 0.3637, 0.1468, 0.7342),
    "food": (0.1889, 0.1671, 0.3722, 0.1341, 0.7165),
}


def test_pair_floor_on_the_aicl_test_splits(data_dir: Path) -> None:
    test = load_aicl(data_dir, join_categories=False).split("test")
    report = evaluate(pair_floor(test), test)
    for domain, expected in RECORDED.items():
        group = report.group(domain)
        head = group.headline
        assert group.n_sessions == 180
        assert 0.35 <= head.precision <= 0.55, (domain, head.precision)
        assert (head.precision, head.recall, head.coverage) == pytest.approx(expected, abs=5e-5)
        assert head.valid_output_rate == 1.0
        whole = (head.exact_precision, head.exact_recall, head.gjs, head.pair_f1, head.bcubed_f1)
        assert whole == pytest.approx(WHOLE[domain], abs=5e-5)
        # the floor scored as the method and as the floor row give the same numbers
        assert group.floor["strict-2025"] == head
    assert report.group().n_sessions == 540
