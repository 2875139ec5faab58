"""`bundlekd experiment run`: every cell of a grid, resumable per cell.

The sessions are read once; finished cells (their `result.json`) are skipped; artifacts are
shared between cells through `artifacts.build_once`. `OUT/study.json` records the grid, the
cells and the machine; `OUT/<cell>/result.json` holds each cell's numbers.
"""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bundlekd.app.study.cells import Splits, finished, run_cell
from bundlekd.app.study.grid import Cell, StudyConfig, estimate_seconds, expand, with_sample
from bundlekd.files import write_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedCell:
    cell: Cell
    done: bool
    estimate_s: float


def load_splits(study: StudyConfig, data_dir: Path | None = None) -> Splits:
    from bundlekd.data.sources import load_sessions

    def split(name: str) -> list[Any]:
        return load_sessions(study.source, domains=study.domains, split=name, data_dir=data_dir)

    return Splits(split("train"), split("val"), split(study.split))


def plan(study: StudyConfig, out: Path, splits: Splits | None = None) -> list[PlannedCell]:
    """The cells in run order, whether each is finished, and an estimated cost (seconds)."""
    import json

    cells = expand(study)
    sizes: dict[str, dict[str, int]] = {}
    if splits is not None:
        for name, sessions in (("train", splits.train), (study.split, splits.report)):
            for s in sessions:
                sizes.setdefault(s.domain, {}).setdefault(name, 0)
                sizes[s.domain][name] += 1
    measured: dict[str, list[float]] = {}
    for path in sorted((out / "cells").glob("*/result.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
            per = result["cost"]["wall_s"] / max(result["sessions"], 1)
            measured.setdefault(result["cell"]["student"], []).append(per)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    rates = {k: sum(v) / len(v) for k, v in measured.items()}
    return [
        PlannedCell(c, finished(out, c) is not None, estimate_seconds(c, study, sizes, rates))
        for c in cells
    ]


def run_study(
    study: StudyConfig,
    out: Path,
    *,
    data_dir: Path | None = None,
    sample: int | None = None,
    artifacts: Path | None = None,
    on_cell: Callable[[int, int, PlannedCell], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every unfinished cell; return every cell's result (finished ones read back).

    `sample` overrides the study's seeded per-domain sample of report sessions (llm cells);
    `artifacts` is a folder of artifacts shared with other grids (default `out`).
    """
    from filelock import FileLock, Timeout

    from bundlekd.app.study.cells import read_result, result_path

    study = with_sample(study, sample)
    preflight(study, out)
    splits = load_splits(study, data_dir)
    planned = plan(study, out, splits)
    _write_study(study, out, planned)
    results: dict[str, dict[str, Any]] = {}
    # a cell another run of this grid holds is left for last (then waited for), so two runs
    # of one grid share its cells instead of queueing behind each other
    queue = [(item, 0.0) for item in planned] + [(item, -1.0) for item in planned]
    for item, wait in queue:
        if item.cell.cell_id in results:
            continue
        if on_cell is not None:
            on_cell(len(results), len(planned), item)
        path = result_path(out, item.cell)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(path.parent) + ".lock", timeout=wait):
                results[item.cell.cell_id] = (
                    read_result(path)
                    if path.is_file()
                    else run_cell(
                        study,
                        item.cell,
                        out,
                        splits,
                        artifacts_root=artifacts,
                        on_stage=on_stage,
                        on_progress=on_progress,
                    )
                )
        except Timeout:
            logger.info("cell %s is held by another run: later", item.cell.cell_id)
    _write_study(study, out, plan(study, out, splits))
    return [results[p.cell.cell_id] for p in planned]


def preflight(study: StudyConfig, out: Path) -> list[Cell]:
    """What a run checks before any work, and `--dry-run` checks the same way: the grid has
    cells, `out` holds no cells of other settings, and every cell's project settings (the
    grid's `base` and what its axes set) validate.

    Raises:
        ConfigError: the first problem, naming the grid as the source of a bad setting.
    """
    from bundlekd.app.study.cells import project_overrides
    from bundlekd.config import load_config

    cells = expand(study)
    check_same_settings(study, out)
    where = f"grid {study.name}"
    load_config(overrides=study.base, overrides_from=f"{where} base")
    for cell in cells:  # the settings its axes add, as run_cell resolves them
        overrides = {**project_overrides(study, cell), "kb.dir": str(out / "kb")}
        load_config(overrides=overrides, overrides_from=f"{where}, cell {cell.cell_id}")
    return cells


# what a cell id leaves out but its numbers depend on: every study field but these
_NOT_SETTINGS = ("name", "question", "grid")


def check_same_settings(study: StudyConfig, out: Path) -> None:
    """Refuse to resume into a folder whose finished cells ran with other study settings
    (sample, folds, base settings, ...): a cell id names only the grid axes, so those cells
    would be reused as if they were this grid's.

    Raises:
        ConfigError: `out/study.json` records different settings.
    """
    import json

    from bundlekd.errors import ConfigError

    path = out / "study.json"
    if not path.is_file():
        return
    has_cells = any((out / "cells").glob("*/result.json"))
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["study"]
        if not isinstance(recorded, dict):
            raise TypeError("study is not a mapping")
    except (OSError, ValueError, KeyError, TypeError):
        if not has_cells:
            return  # nothing to protect: the run rewrites it
        raise ConfigError(
            f"{path} is unreadable, so it cannot tell which settings this folder's finished "
            "cells ran with; use a new --out, or delete that folder's cells to redo them"
        ) from None
    mine = study.model_dump(mode="json")
    changed = sorted(
        key
        for key in set(mine) | set(recorded)
        if key not in _NOT_SETTINGS and mine.get(key) != recorded.get(key)
    )
    if changed and has_cells:
        raise ConfigError(
            f"{out} holds cells run with other grid settings (changed: {', '.join(changed)}); "
            "use a new --out, or delete that folder's cells to redo them"
        )


def _cpu() -> str:
    """The CPU as the benchmarks name it, with the bf16 verdict the dtype choice uses."""
    from bundlekd.llm.precision import cpu_summary

    return cpu_summary()


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cpu": _cpu(),
        "threads": os.environ.get("BUNDLEKD_NUM_THREADS"),
    }


def _write_study(study: StudyConfig, out: Path, planned: list[PlannedCell]) -> None:
    write_json(
        out / "study.json",
        {
            "study": study.model_dump(mode="json"),
            "machine": machine(),
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
            "cells": [
                {"cell_id": p.cell.cell_id, "done": p.done, "estimate_s": round(p.estimate_s, 1)}
                for p in planned
            ],
        },
    )
