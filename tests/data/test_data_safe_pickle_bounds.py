"""The restricted .npy loader bounds its work: pickles that share, nest or multiply lists are a
DataError in well under a second, never memory or recursion exhaustion."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from bundlekd.data.safe_pickle import load_npy_as_json, load_npy_object
from bundlekd.errors import DataError

SENTINEL = "SENTINEL-PAYLOAD"


def _npy_around(path: Path, inner: bytes) -> Path:
    """A real object-array .npy holding {"k": <sentinel>}, with the sentinel's pickle opcodes
    replaced by `inner` (raw pickle opcodes that leave one object on the stack)."""
    holder = np.empty((), dtype=object)
    holder[()] = {"k": SENTINEL}
    payload = pickle.dumps(holder, protocol=3)
    encoded = SENTINEL.encode()
    marker = b"X" + len(encoded).to_bytes(4, "little") + encoded
    assert payload.count(marker) == 1
    with path.open("wb") as handle:
        npy_format.write_array_header_1_0(
            handle, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        handle.write(payload.replace(marker, inner))
    return path


def _timed(call) -> pytest.ExceptionInfo[DataError]:
    started = time.perf_counter()
    with pytest.raises(DataError) as caught:
        call()
    assert time.perf_counter() - started < 5
    return caught


def test_lists_sharing_each_other_do_not_expand_exponentially(tmp_path: Path) -> None:
    bomb: list = []
    for _ in range(60):  # 2**60 leaves once expanded, a few hundred bytes pickled
        bomb = [bomb, bomb]
    holder = np.empty((), dtype=object)
    holder[()] = {"k": bomb}
    path = tmp_path / "shared.npy"
    np.save(path, holder, allow_pickle=True)
    assert path.stat().st_size < 2_000
    caught = _timed(lambda: load_npy_as_json(path))
    assert "once shared lists are expanded" in str(caught.value)


def test_a_list_nested_100k_deep_is_a_data_error(tmp_path: Path) -> None:
    depth = 100_000
    inner = b"]" * depth + b"a" * (depth - 1)  # EMPTY_LIST x N, then APPEND each into the last
    path = _npy_around(tmp_path / "deep.npy", inner)
    caught = _timed(lambda: load_npy_as_json(path))
    assert "nested deeper than 64 levels" in str(caught.value)


def test_a_list_that_contains_itself_is_a_data_error(tmp_path: Path) -> None:
    cycle: list = []
    cycle.append(cycle)
    holder = np.empty((), dtype=object)
    holder[()] = {"k": cycle}
    path = tmp_path / "cycle.npy"
    np.save(path, holder, allow_pickle=True)
    _timed(lambda: load_npy_as_json(path))


def test_admitted_builtins_cannot_allocate_more_than_the_file_describes(tmp_path: Path) -> None:
    # bytes(10**10): GLOBAL builtins.bytes, LONG1 10**10, TUPLE1, REDUCE
    huge_bytes = b"cbuiltins\nbytes\n" + b"\x8a\x05" + (10**10).to_bytes(5, "little") + b"\x85R"
    path = _npy_around(tmp_path / "bytes.npy", huge_bytes)
    caught = _timed(lambda: load_npy_object(path))
    assert "more than its size allows" in str(caught.value)

    # one 50k-element list, copied by builtins.list 20k times through memo references
    build = b"]" + b"(" + b"K\x01" * 50_000 + b"e" + b"q\x01"  # list, APPENDS, BINPUT 1
    copies = (b"cbuiltins\nlist\nh\x01\x85R0") * 20_000  # list(memo[1]), then POP
    path = _npy_around(tmp_path / "copies.npy", build + copies)
    caught = _timed(lambda: load_npy_object(path))
    assert "more than its size allows" in str(caught.value)


def test_the_bounds_leave_ordinary_files_alone(tmp_path: Path) -> None:
    table = {str(i): [f"B{i:05d}", [("Storage", f"B{i:05d},B{i + 1:05d}")]] for i in range(5000)}
    holder = np.empty((), dtype=object)
    holder[()] = table
    path = tmp_path / "table.npy"
    np.save(path, holder, allow_pickle=True)
    assert load_npy_as_json(path)["42"] == ["B00042", [["Storage", "B00042,B00043"]]]
