"""The fitters' leakage guard (issue 25.5): train labels only, whatever a file says, unforceable."""

from __future__ import annotations

import pytest

from bundlekd.data.leakage import FIT_SPLIT, check_fit_sessions, check_fit_split
from bundlekd.data.sources import load_sample
from bundlekd.errors import LeakageError


def test_only_the_train_split_may_fit() -> None:
    assert check_fit_split("train", use="the scorer") == FIT_SPLIT
    for split in ("test", "val", "all", None, 3, ["train"]):
        with pytest.raises(LeakageError, match="refusing to fit the scorer") as caught:
            check_fit_split(split, use="the scorer", where="KB/tool/tool.json")
        assert "KB/tool/tool.json says" in str(caught.value)
        assert "no flag overrides" in str(caught.value)


def test_fitters_refuse_val_and_test_sessions() -> None:
    sample = load_sample()
    check_fit_sessions(sample.split("train"), use="the scorer")
    for split in ("val", "test"):
        with pytest.raises(LeakageError, match="feed the scorer"):
            check_fit_sessions(sample.split(split)[:2], use="the scorer")
