"""Typer callbacks over `bundlekd.numbers`: a NaN, an infinity or a count below its minimum is
a usage error naming the option (exit code 2), before any work starts."""

from __future__ import annotations

from collections.abc import Callable

import typer

from bundlekd.errors import ConfigError
from bundlekd.numbers import count, finite


def finite_option(
    low: float | None = None, high: float | None = None
) -> Callable[[typer.CallbackParam, float | None], float | None]:
    """A callback refusing NaN, +-inf and values outside [low, high]."""

    def check(param: typer.CallbackParam, value: float | None) -> float | None:
        if value is None:
            return None
        try:
            return finite(value, _name(param), low=low, high=high)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc)) from None

    return check


def count_option(minimum: int = 1) -> Callable[[typer.CallbackParam, int | None], int | None]:
    """A callback refusing counts below `minimum` (default 1: positive)."""

    def check(param: typer.CallbackParam, value: int | None) -> int | None:
        if value is None:
            return None
        try:
            return count(value, _name(param), minimum=minimum)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc)) from None

    return check


def _name(param: typer.CallbackParam) -> str:
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    return opts[0] if opts else str(param.name)
