"""The restricted unpickler for AICL .npy files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from bundlekd.data.safe_pickle import load_npy_as_json, load_npy_object
from bundlekd.errors import DataError


def _save_object(path: Path, obj: object) -> Path:
    holder = np.empty((), dtype=object)
    holder[()] = obj
    np.save(path, holder, allow_pickle=True)
    return path


def _write_npy_with_payload(path: Path, payload: bytes) -> Path:
    """An object-array .npy header followed by an arbitrary pickle payload."""
    with path.open("wb") as handle:
        npy_format.write_array_header_1_0(
            handle, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        handle.write(payload)
    return path


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"echo pwned > {self.marker}",))


def test_loads_a_pickled_dict_like_the_aicl_files(tmp_path: Path) -> None:
    original = {1: "B001,B002", 2: [("Storage", "B001,B002")], 3: [4, 5]}
    path = _save_object(tmp_path / "table.npy", original)
    assert load_npy_object(path) == original
    assert load_npy_as_json(path) == {
        "1": "B001,B002",
        "2": [["Storage", "B001,B002"]],
        "3": [4, 5],
    }


def test_foreign_global_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"
    path = _write_npy_with_payload(tmp_path / "evil.npy", pickle.dumps(_Evil(marker)))
    with pytest.raises(DataError, match=r"evil\.npy: refuses global (posix|os|nt)\.system"):
        load_npy_object(path)
    assert not marker.exists()


def test_foreign_global_inside_a_numpy_array_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"
    holder = np.empty((), dtype=object)
    holder[()] = {"x": _Evil(marker)}
    path = _write_npy_with_payload(tmp_path / "nested.npy", pickle.dumps(holder, protocol=3))
    with pytest.raises(DataError, match="refuses global"):
        load_npy_object(path)
    assert not marker.exists()


def test_non_object_arrays_and_non_npy_files_are_data_errors(tmp_path: Path) -> None:
    numeric = tmp_path / "numbers.npy"
    np.save(numeric, np.arange(3))
    with pytest.raises(DataError, match="expected an object array"):
        load_npy_object(numeric)
    bogus = tmp_path / "bogus.npy"
    bogus.write_bytes(b"not numpy at all")
    with pytest.raises(DataError, match=r"bogus\.npy: not a valid \.npy file"):
        load_npy_object(bogus)
    with pytest.raises(DataError, match="file not found"):
        load_npy_object(tmp_path / "missing.npy")


def test_truncated_payload_is_a_data_error(tmp_path: Path) -> None:
    path = _save_object(tmp_path / "table.npy", {1: "a" * 100})
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="cannot unpickle"):
        load_npy_object(path)
