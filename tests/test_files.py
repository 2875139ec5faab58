"""bundlekd.files: the one atomic-write helper and the writers built on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bundlekd.files import atomic_path, atomic_write_text, read_json, write_json


def test_atomic_path_replaces_the_target_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "vectors.npy"
    with atomic_path(target) as tmp, tmp.open("wb") as handle:
        assert tmp.parent == target.parent
        assert tmp != target
        np.save(handle, np.arange(3), allow_pickle=False)
    assert np.load(target).tolist() == [0, 1, 2]

    def failing_writer() -> None:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half a file")
            raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError, match="writer failed"):
        failing_writer()
    assert np.load(target).tolist() == [0, 1, 2]  # the old file is untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["vectors.npy"]  # no temp left


def test_text_and_json_writers(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "a.txt", "héllo\n")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    write_json(tmp_path / "b.json", {"b": 1, "a": [2]})
    assert read_json(tmp_path / "b.json") == {"a": [2], "b": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.json"]


def test_a_new_file_gets_the_umask_mode_and_a_rewrite_keeps_its_mode(tmp_path: Path) -> None:
    import os

    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "report.md", "one")
    finally:
        os.umask(old)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o640  # not mkstemp's 0600
    os.chmod(tmp_path / "report.md", 0o664)
    write_json(tmp_path / "report.md", {"two": 2})
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o664
