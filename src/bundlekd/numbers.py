"""One check for the numbers a user passes in: floats are finite, counts are whole and in range.

A NaN compares false with everything, so a `tolerance` of NaN silently switches a guard off
(`x < nan` is never true), and an `inf` makes it vacuous; both also end up in JSON files that
strict readers reject. Every float option of the CLI and the API goes through `finite`, every
count through `count`, so a bad value is one `ConfigError` naming the option.
"""

from __future__ import annotations

import math

from bundlekd.errors import ConfigError


def finite(
    value: float,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
) -> float:
    """`value` as a float when it is a finite number in [low, high] (either bound optional).

    Raises:
        ConfigError: naming `name`, for NaN, +-inf, a non-number or a value out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number, not {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be a finite number, not {value!r}")
    if low is not None and number < low:
        raise ConfigError(f"{name} must be >= {low:g}, not {value!r}")
    if high is not None and number > high:
        raise ConfigError(f"{name} must be <= {high:g}, not {value!r}")
    return number


def count(value: int, name: str, *, minimum: int = 1) -> int:
    """`value` when it is a whole number >= `minimum` (default 1: a positive count).

    Raises:
        ConfigError: naming `name`, for a float, a bool or a value below `minimum`.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, not {value!r}")
    if value < minimum:
        what = "positive" if minimum == 1 else f">= {minimum}"
        raise ConfigError(f"{name} must be {what}, not {value}")
    return value
