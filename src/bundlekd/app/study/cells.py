"""One cell of the grid: build (or reuse) its artifacts, predict the report split, score it.

A cell's folder `OUT/cells/<cell_id>/` holds `config.yaml` (its resolved project settings),
`predictions/`, `eval/` and, written last, `result.json`: per-domain rows (pair floor and the
clustering bar included), the settings chosen for it with the split that chose each, and its
cost. A folder with `result.json` is finished and skipped on resume.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundlekd.app.study.artifacts import artifact_summary, embedder_artifact, kb_artifact
from bundlekd.app.study.grid import SFT_UTILIZATIONS, Cell, StudyConfig, llm_mode
from bundlekd.app.study.sft_cells import cell_adapters, predict_routed, sft_chosen
from bundlekd.files import read_json, write_json

if TYPE_CHECKING:
    from bundlekd.data.schema import Session

logger = logging.getLogger(__name__)

RESULT_FILE = "result.json"
BAR_ARM = "cluster"


@dataclass(frozen=True)
class Splits:
    """The sessions of one study: fit on train, choose on val, report on `report`."""

    train: list[Session]
    val: list[Session]
    report: list[Session]

    def of(self, domains: Sequence[str]) -> Splits:
        keep = set(domains)
        return Splits(
            [s for s in self.train if s.domain in keep],
            [s for s in self.val if s.domain in keep],
            [s for s in self.report if s.domain in keep],
        )


def result_path(out: Path, cell: Cell) -> Path:
    return out / "cells" / cell.cell_id / RESULT_FILE


def project_overrides(study: StudyConfig, cell: Cell) -> dict[str, Any]:
    """The project settings (dotted keys) this cell's KB and run use."""
    kinds = ["exemplar"] if cell.student == "tool" else _llm_kinds(cell)
    overrides: dict[str, Any] = {
        **study.base,
        "data.source": study.source,
        "data.domains": list(cell.domains),
        "embedder.name": study.embedder,
        "distill.kinds": kinds,
        "distill.ratio": cell.ratio,
        "distill.strategy": cell.strategy,
        "distill.seed": cell.seed,
    }
    if cell.student == "tool":
        learned = bool(cell.formats) and cell.utilization != "weights"
        overrides["kb.tool_scorer"] = "learned" if learned else "cosine"
        if learned:
            overrides["kb.tool_features"] = list(cell.formats)
        overrides["generation.mode"] = "tool"
        if learned and study.tool_coverage_floor:
            overrides["kb.tool_coverage_floor"] = True
    else:
        overrides["student.model"] = cell.model
        overrides["generation.mode"] = llm_mode(cell)
        if study.teacher:
            overrides["teacher.model"] = study.teacher
        if study.teacher_limit:
            overrides["distill.limit"] = study.teacher_limit
        if set(kinds) - {"exemplar"}:
            overrides["generation.knowledge_kinds"] = [k for k in kinds if k != "exemplar"]
        if cell.utilization in SFT_UTILIZATIONS:
            overrides["generation.n_examples"] = 0  # the SFT prompt has no worked examples
    return overrides


def kb_overrides(cell: Cell, overrides: dict[str, Any]) -> dict[str, Any]:
    """The settings a cell's KB is keyed by: its project settings without those that only
    the student's training and prompt read, so ICL and SFT cells of one KB share it."""
    kept = {
        k: v for k, v in overrides.items() if not k.startswith("sft.") and k not in _PROMPT_ONLY
    }
    if cell.utilization in SFT_UTILIZATIONS:
        kept["generation.mode"] = "icl"  # the KB of the ICL cell with the same kinds
    return kept


_PROMPT_ONLY = ("generation.n_examples",)


def _llm_kinds(cell: Cell) -> list[str]:
    kinds = [k for k in cell.formats if k != "exemplar"]
    return kinds or ["pattern"]  # a KB needs some kind; zero/few-shot never read it


def run_cell(
    study: StudyConfig,
    cell: Cell,
    out: Path,
    splits: Splits,
    *,
    artifacts_root: Path | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run one cell (resuming its predictions) and write its `result.json`.

    Artifacts live under `artifacts_root` (default `out`): grids that share it share them."""
    from bundlekd.app.arms import run_arms
    from bundlekd.app.components import build_embedder, build_llm, grouping_tool, open_kb
    from bundlekd.app.experiments import collect_rows
    from bundlekd.config import load_config, write_resolved_config
    from bundlekd.data.sampling import sample_sessions

    stage = on_stage or (lambda message: logger.info(message))
    folder = out / "cells" / cell.cell_id
    wall, cpu = time.perf_counter(), time.process_time()
    mine = splits.of(cell.domains)
    overrides = project_overrides(study, cell)
    root = artifacts_root or out
    artifacts: dict[str, Any] = {}
    if cell.student == "tool" and cell.utilization in ("weights", "both"):
        where = "-".join(cell.domains)
        data_keys = {"data.source": study.source, "data.domains": list(cell.domains)}
        emb_dir, record = embedder_artifact(
            root, data_keys, study.embedder_epochs, slug=f"tuned-{where}"
        )
        artifacts["embedder"] = artifact_summary(emb_dir, record)
        overrides["kb.tool_embedder"] = str(emb_dir / "model")
        if cell.utilization == "both" and study.cross_fit_folds >= 2:
            artifacts.update(_fold_embedders(root, study, data_keys, where, overrides))
    stage(f"{cell.cell_id}: knowledge base")
    kb_dir, record = kb_artifact(root, kb_overrides(cell, overrides), slug=_kb_slug(cell))
    artifacts["kb"] = artifact_summary(kb_dir, record)
    sampled_train = sample_sessions(mine.train, cell.ratio, cell.strategy, cell.seed)
    specs: dict[str, str] = {}
    adapters: dict[str, dict[str, Any]] = {}
    if cell.utilization in SFT_UTILIZATIONS:
        specs, adapters = cell_adapters(
            cell, root, overrides, kb_dir, sampled_train, mine.val, stage, on_progress
        )
        artifacts.update({f"adapter:{name}": a["summary"] for name, a in adapters.items()})
        if len(specs) == 1:
            overrides["student.model"] = next(iter(specs.values()))

    loaded = load_config(
        overrides={**overrides, "kb.dir": str(kb_dir)},
        overrides_from=f"grid {study.name}, cell {cell.cell_id}",
    )
    config = loaded.config
    folder.mkdir(parents=True, exist_ok=True)
    write_resolved_config(loaded, folder / "config.yaml")
    report = mine.report
    if cell.student == "llm" or study.sample_tool:
        report = _sample(report, study.sample, cell.seed)
    embedder = build_embedder(config.embedder)
    kb = open_kb(config.kb, config.embedder)
    tool = grouping_tool(kb) if cell.student == "tool" else None
    arm = "tool" if cell.student == "tool" else config.generation.mode
    routed: dict[str, Any] = {}
    if cell.utilization == "sft_routed":
        routed = predict_routed(
            config, cell, folder, report, kb, specs, val=mine.val, arm=arm, on_stage=stage,
            on_progress=on_progress,
        )  # fmt: skip
    arms = [BAR_ARM] if routed else [arm, BAR_ARM]
    llm = build_llm(config.student, batch_size=config.generation.batch_size) if not routed else None
    stage(f"{cell.cell_id}: {arm} on {len(report)} sessions")
    try:
        _, seconds = run_arms(
            arms,
            config,
            folder,
            test=report,
            train=sampled_train,
            val=mine.val,
            kb=kb,
            tool=tool,  # type: ignore[arg-type]  # llm cells use no tool
            llm=llm,  # type: ignore[arg-type]  # a routed cell generated already
            embedder=embedder,
            on_stage=stage,
            on_progress=on_progress,
        )
    finally:
        if llm is not None:
            llm.close()
    tables = collect_rows(folder, report, config, embedder)
    manifest = folder / "predictions" / f"{arm}.jsonl.manifest.json"
    last_run = read_json(manifest).get("last_run", {}) if manifest.is_file() else {}
    if routed:
        last_run = {
            "sessions_per_min": routed["sessions_per_min"],
            "tokens": routed["student_tokens"],
        }
        seconds[arm] = routed["predict_s"]
    result = {
        "cell": cell.model_dump(mode="json"),
        "cell_id": cell.cell_id,
        "label": cell.label(),
        "arm": arm,
        "sessions": len(report),
        "sessions_per_domain": {d: sum(s.domain == d for s in report) for d in cell.domains},
        "sampled": cell.student == "llm" or study.sample_tool,
        "tables": tables,
        "chosen": {**_chosen(cell, kb_dir, sampled_train), **sft_chosen(adapters, routed)},
        "artifacts": artifacts,
        "knowledge": record.get("details", {}).get("distill", {}).get("per_kind", {}),
        "routing": routed.get("routing"),
        "cost": {
            "wall_s": round(time.perf_counter() - wall, 2),
            "cpu_s": round(time.process_time() - cpu, 2),
            "predict_s": round(seconds.get(arm, 0.0), 2),
            "sessions_per_min": last_run.get("sessions_per_min"),
            "student_tokens": last_run.get("tokens", 0),
            "teacher_tokens": _teacher_tokens(record),
            "teacher_requests": record.get("details", {}).get("teacher_requests", 0),
            "training_s": _training_seconds(artifacts),
            "sft_train_s": round(
                sum(a["summary"]["build_wall_s"] or 0.0 for a in adapters.values()), 2
            ),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
    }
    write_json(folder / RESULT_FILE, result)
    return result


def _fold_embedders(
    root: Path, study: StudyConfig, data_keys: dict[str, Any], where: str, overrides: dict[str, Any]
) -> dict[str, Any]:
    """Cross-fitting of a `both` cell: one embedder per fold, tuned without it
    (`kb.tool_embedder_folds`); returns their artifact summaries."""
    from bundlekd.app.study.artifacts import fold_embedder_artifact

    folders, summaries = [], {}
    for fold in range(study.cross_fit_folds):
        folder, record = fold_embedder_artifact(
            root,
            data_keys,
            study.embedder_epochs,
            fold=fold,
            folds=study.cross_fit_folds,
            slug=f"tuned-{where}",
        )
        folders.append(str(folder / "model"))
        summaries[f"embedder_fold{fold}"] = artifact_summary(folder, record)
    overrides["kb.tool_embedder_folds"] = folders
    return summaries


def _sample(sessions: list[Session], n: int | None, seed: int) -> list[Session]:
    from bundlekd.app.components import sample_per_domain

    return sessions if n is None else sample_per_domain(sessions, n, seed)


def _kb_slug(cell: Cell) -> str:
    where = cell.domains[0] if cell.scope == "single" else "pooled"
    return f"{cell.student}-{where}-r{cell.ratio:g}-{cell.strategy}-s{cell.seed}"


def _training_seconds(artifacts: dict[str, Any]) -> float:
    """Wall seconds of building this cell's artifacts (shared ones count for each cell)."""
    return round(sum(a.get("build_wall_s") or 0.0 for a in artifacts.values()), 2)


def _teacher_tokens(record: dict[str, Any]) -> int:
    summary = record.get("details", {}).get("distill", {}) or {}
    return int(summary.get("teacher_tokens", 0) or 0)


def _chosen(cell: Cell, kb_dir: Path, train: list[Session]) -> dict[str, Any]:
    """Every setting of the cell and the split that chose it."""
    chosen: dict[str, Any] = {
        "train_sample": {
            "value": {"sessions": len(train), "ratio": cell.ratio, "strategy": cell.strategy},
            "chosen_on": "train",
        },
        "clustering_bar": {"value": "linkage/threshold per domain", "chosen_on": "val"},
    }
    tool_file = kb_dir / "tool" / "tool.json"
    if tool_file.is_file():
        saved = read_json(tool_file)
        chosen["tool_settings"] = {"value": saved.get("settings"), "chosen_on": "val"}
        chosen["tool_scorer"] = {
            "value": saved.get("scorer", {}).get("kind"),
            "fitted_on": "train",
        }
        meta = saved.get("metadata", {})
        chosen["tool_val_scores"] = {"value": meta.get("val_scores"), "chosen_on": "val"}
        chosen["val_clustering_bar"] = {
            "value": meta.get("val_clustering_bar"),
            "chosen_on": "val",
        }
        if "cross_fit" in meta:
            chosen["cross_fit"] = {"value": meta["cross_fit"], "fitted_on": "train"}
    return chosen


# what every reader of a result.json needs, with its type
_RESULT_KEYS: dict[str, type] = {
    "cell": dict,
    "cell_id": str,
    "arm": str,
    "sessions": int,
    "tables": dict,
    "cost": dict,
}


def read_result(path: Path) -> dict[str, Any]:
    """A cell's `result.json`, checked for the fields the runner and the report read.

    Raises:
        DataError: not JSON, or a field missing or of another type (one line, with what to do).
    """
    from bundlekd.errors import DataError

    hint = f"delete {path.parent} to run that cell again"
    try:
        result = read_json(path)
    except DataError as exc:
        raise DataError(f"{exc}; {hint}") from None
    if not isinstance(result, dict):
        raise DataError(f"{path}: a cell result is a JSON object; {hint}")
    bad = [k for k, kind in _RESULT_KEYS.items() if not isinstance(result.get(k), kind)]
    if bad or not isinstance(result["cell"].get("domains"), list):
        raise DataError(f"{path}: not a cell result (missing or bad: {bad or ['cell']}); {hint}")
    return result


def finished(out: Path, cell: Cell) -> dict[str, Any] | None:
    path = result_path(out, cell)
    return read_result(path) if path.is_file() else None
