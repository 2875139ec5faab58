"""Artifacts shared between cells, built once and keyed by their configuration.

Under `OUT/artifacts/<kind>/<slug>-<hash>/`: a folder is finished when its `artifact.json`
exists (written last, with the configuration it was built from and what building it cost), so
an interrupted build is redone and a finished one is reused by every cell that names the same
configuration:

- `kb`: a KB distilled by `bundlekd distill` (`app.distillation.run_distillation`) from a
  ratio x strategy sample of the training split, with its grouping tool fitted on those
  training sessions and tuned on val; its teacher cache is one shared file
  (`artifacts/teacher/`), so a teacher call is made once for all KBs;
- `embedder`: a domain-tuned embedder (`app.finetuning.run_embedder_tuning`; val picks the
  epoch); `<slug>-fold{k}of{K}`: the same, tuned without fold k of the training sessions
  (`fold_embedder_artifact`, the cross-fitting of `both` cells).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bundlekd.files import canonical_hash, read_json, write_json

logger = logging.getLogger(__name__)

DONE_FILE = "artifact.json"


def artifact_dir(root: Path, kind: str, slug: str, key: dict[str, Any]) -> Path:
    return root / "artifacts" / kind / f"{slug}-{canonical_hash(key, 10)}"


def built(folder: Path) -> dict[str, Any] | None:
    """The record of a finished artifact, or None."""
    path = folder / DONE_FILE
    return read_json(path) if path.is_file() else None


def build_once(
    folder: Path, key: dict[str, Any], build: Callable[[Path], dict[str, Any]]
) -> dict[str, Any]:
    """Reuse the finished artifact in `folder`, else (re)build it from scratch and record it.

    The record holds the key, what `build` returned, and the wall/CPU seconds it took. Grids
    running at once that share the artifact wait for the one building it (a file lock).
    """
    from filelock import FileLock

    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder.with_name(folder.name + ".lock"))):
        return _build_once(folder, key, build)


def _build_once(
    folder: Path, key: dict[str, Any], build: Callable[[Path], dict[str, Any]]
) -> dict[str, Any]:
    record = built(folder)
    if record is not None:
        return {**record, "reused": True}
    if folder.exists():
        shutil.rmtree(folder)  # an interrupted build: start clean
    folder.mkdir(parents=True)
    wall, cpu = time.perf_counter(), time.process_time()
    details = build(folder)
    record = {
        "key": key,
        "details": details,
        "wall_s": round(time.perf_counter() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
    }
    write_json(folder / DONE_FILE, record)
    logger.info("built %s in %.1fs", folder, record["wall_s"])
    return {**record, "reused": False}


def artifact_summary(folder: Path, record: dict[str, Any]) -> dict[str, Any]:
    """What a cell's result says of an artifact it used: where, reused or not, build cost."""
    return {
        "dir": str(folder),
        "reused": record.get("reused", False),
        "build_wall_s": record.get("wall_s"),
        "build_cpu_s": record.get("cpu_s"),
    }


def kb_artifact(
    root: Path,
    overrides: dict[str, Any],
    *,
    slug: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """A KB (and its grouping tool when the kinds hold exemplars) distilled with these project
    settings (dotted keys; `kb.dir` is set here). Returns (folder, record)."""
    key = {k: v for k, v in sorted(overrides.items())}
    folder = artifact_dir(root, "kb", slug, key)

    def build(path: Path) -> dict[str, Any]:
        from bundlekd.app.distillation import run_distillation
        from bundlekd.config import load_config

        loaded = load_config(
            overrides={**overrides, "kb.dir": str(path)}, overrides_from="grid settings"
        )
        if {"rule", "thought"} & set(overrides.get("distill.kinds") or ()):
            _share_teacher_cache(root, path)
        run = run_distillation(loaded, progress=progress)
        summary = run.report.summary()
        return {
            "distill": summary,
            "sessions_sampled": run.report.sessions,
            "sessions_available": run.available,
            "teacher_requests": run.report.teacher_requests,
            "tool": run.tool,
        }

    return folder, build_once(folder, key, build)


def _share_teacher_cache(root: Path, kb_dir: Path) -> None:
    """Point the KB's teacher cache at one cache for every KB of these grids: a teacher call
    (keyed by model, prompt and settings) is made once, whichever KB asks for it first."""
    from bundlekd.knowledge_base.distill.runner import TEACHER_CACHE

    shared = (root / "artifacts" / "teacher" / TEACHER_CACHE).resolve()
    shared.parent.mkdir(parents=True, exist_ok=True)
    (kb_dir / TEACHER_CACHE).symlink_to(shared)


def embedder_artifact(
    root: Path,
    overrides: dict[str, Any],
    epochs: int,
    *,
    slug: str,
) -> tuple[Path, dict[str, Any]]:
    """A domain-tuned embedder of these sessions (`data.*` overrides); val picks the epoch.
    The model lives in `<folder>/model`."""
    key = {**dict(sorted(overrides.items())), "epochs": epochs}
    folder = artifact_dir(root, "embedder", slug, key)

    def build(path: Path) -> dict[str, Any]:
        from bundlekd.app.finetuning import run_embedder_tuning
        from bundlekd.config import load_config
        from bundlekd.finetune.embedder_config import EmbedderTuneConfig

        config = load_config(overrides=overrides, overrides_from="grid settings").config
        card = run_embedder_tuning(config, path / "model", EmbedderTuneConfig(epochs=epochs))
        return {"card": card}

    return folder, build_once(folder, key, build)


# --- cross-fitting (the `both` utilization): one embedder per fold, tuned without it --------


def fold_embedder_artifact(
    root: Path,
    overrides: dict[str, Any],
    epochs: int,
    *,
    fold: int,
    folds: int,
    slug: str,
) -> tuple[Path, dict[str, Any]]:
    """An embedder tuned like `embedder_artifact`'s, on the training sessions outside `fold`
    of `folds` (`knowledge_base.grouping.crossfit`): it featurises that fold's rows when the
    pair scorer is cross-fitted. The model lives in `<folder>/model`."""
    key = {**dict(sorted(overrides.items())), "epochs": epochs, "fold": fold, "folds": folds}
    folder = artifact_dir(root, "embedder", f"{slug}-fold{fold}of{folds}", key)

    def build(path: Path) -> dict[str, Any]:
        from bundlekd.config import load_config
        from bundlekd.data.sources import load_sessions
        from bundlekd.finetune.embedder import tune_embedder
        from bundlekd.finetune.embedder_config import EmbedderTuneConfig
        from bundlekd.knowledge_base.grouping.crossfit import out_of_fold

        data = load_config(overrides=overrides, overrides_from="grid settings").config.data
        domains = list(data.domains) or None
        train = load_sessions(data.source, domains=domains, split="train", data_dir=data.dir)
        val = load_sessions(data.source, domains=domains, split="val", data_dir=data.dir)
        card = tune_embedder(
            out_of_fold(train, fold, folds), val, path / "model", EmbedderTuneConfig(epochs=epochs)
        )
        return {"card": card, "fold": fold, "folds": folds}

    return folder, build_once(folder, key, build)
