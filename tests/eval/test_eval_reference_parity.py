"""AICL-parity: our `aicl` numbers equal those the reference code produced on `parity_case`.

Reference: `process_results` (drop 1-item bundles; drop sessions left with none) followed by
`compute` — the 2024 version (AICL release, e.g. LandyLee-gdut/bundle_recommendation
utils/metrics.py: first containing GT bundle, `break`) and the 2025 version
(BundleRec/bundle_generation utils/metrics.py @604d9c6: every (GT, prediction) pair).
It was run once on the fixture outside this repository; only its output is recorded here:

    kept sessions [1, 2, 6]
    2024 (0.7222222222222222, 1.3333333333333333, 0.5333333333333333)
    2025 (0.8333333333333334, 1.0, 0.5555555555555555)

By hand. Session 1: 2024 P 2/3, R 2/2, cov 2/4+2/4 over 2 hits; 2025 P 3/3, R 2/2, cov
2/4+2/4+2/3 over 3 pairs. Session 2: P 1/2, R 1/1, cov 2/3 (both versions). Session 6: 2024
P 2/2, R 2/1, cov 2/4+2/4; 2025 P 2/2, R 1/1, same coverage.
2024: P (2/3+1/2+1)/3 = 0.7222, R (1+1+2)/3 = 1.3333, cov (1+2/3+1)/5 = 0.5333.
2025: P (1+1/2+1)/3 = 0.8333, R 3/3 = 1.0, cov (5/3+2/3+1)/6 = 0.5556.
"""

from __future__ import annotations

import pytest

from bundlekd.eval import EvalConfig, evaluate

REFERENCE_2024 = (0.7222222222222222, 1.3333333333333333, 0.5333333333333333)
REFERENCE_2025 = (0.8333333333333334, 1.0, 0.5555555555555555)


def test_aicl_mode_reproduces_the_reference_numbers(parity_case) -> None:
    predictions, gold = parity_case
    overall = evaluate(predictions, gold, EvalConfig(with_floor=False)).group()
    for key, expected in (("aicl-2024", REFERENCE_2024), ("aicl-2025", REFERENCE_2025)):
        agg = overall.method[key]
        assert agg.n_sessions == 3, key
        assert (agg.precision, agg.recall, agg.coverage) == pytest.approx(expected, abs=1e-12), key


def test_strict_mode_counts_the_three_dropped_sessions_as_zeros(parity_case) -> None:
    predictions, gold = parity_case
    overall = evaluate(predictions, gold).group()
    strict_2025 = overall.method["strict-2025"]
    # same sums over 6 sessions instead of 3; coverage is per hit, so unchanged
    assert strict_2025.n_sessions == 6
    assert strict_2025.precision == pytest.approx(2.5 / 6)
    assert strict_2025.recall == pytest.approx(3 / 6)
    assert strict_2025.coverage == pytest.approx(REFERENCE_2025[2])
    assert strict_2025.valid_output_rate == pytest.approx(3 / 6)
    strict_2024 = overall.method["strict-2024"]
    assert (strict_2024.precision, strict_2024.recall) == pytest.approx(((2 / 3 + 1.5) / 6, 4 / 6))
