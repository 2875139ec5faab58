"""The LLM student's SFT cells: adapters as shared artifacts, and routed predictions.

- `sft`: one adapter trained on titles-only prompts (generation: the zero-shot prompt);
- `sft_icl`: one "mixed" adapter trained on knowledge prompts of every kind of the cell's
  formats (generation: the same knowledge prompt, no worked examples);
- `sft_routed`: one adapter per kind, trained on prompts holding only that kind; each report
  session is routed to one of them by its retrieved mix (`routing`).

An adapter is an artifact under `artifacts/adapter/` keyed by what it learned from: the KB
(knowledge inputs only), the cell's sampled training sessions (ratio x strategy x seed: the
quantity of SFT data is a setting), the val sessions that choose the epoch, the input mode and
kinds, the prompt settings, every `sft.*` setting and the base model. Its record holds the
build's wall/CPU seconds (the cell's `training_s`) and the epoch val chose.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundlekd.app.study.artifacts import artifact_dir, artifact_summary, build_once
from bundlekd.app.study.grid import Cell
from bundlekd.files import canonical_hash

if TYPE_CHECKING:
    from bundlekd.config import ProjectConfig
    from bundlekd.data.schema import Prediction, Session
    from bundlekd.knowledge_base.kb import KnowledgeBase

ROUTED_DIR = "routed"
CALIBRATION_SESSIONS = 30  # val sessions per domain that calibrate the router (titles only)


def adapter_groups(cell: Cell) -> dict[str, tuple[str, ...]]:
    """Adapter name -> the knowledge kinds its training prompts carry."""
    if cell.utilization == "sft":
        return {"titles": ()}
    if cell.utilization == "sft_icl":
        return {"mixed": tuple(cell.formats)}
    return {kind: (kind,) for kind in cell.formats}


def sessions_key(sessions: Sequence[Session]) -> dict[str, Any]:
    """Which sessions, in a few fields: a different sample is a different adapter."""
    keys = sorted(f"{d}/{s}" for d, s in (x.key for x in sessions))
    return {
        "n": len(keys),
        "domains": sorted({x.domain for x in sessions}),
        "hash": canonical_hash(keys, 12),
    }


def val_sample(val: Sequence[Session], eval_sessions: int, seed: int) -> list[Session]:
    """The val sessions SFT rows are written for: enough per domain for the trainer's
    `eval_sessions` (it samples among them), not the whole split."""
    from bundlekd.app.components import sample_per_domain

    domains = {s.domain for s in val} or {""}
    per_domain = max(1, math.ceil(eval_sessions / len(domains)))
    return sample_per_domain(val, per_domain, seed)


def adapter_overrides(
    overrides: dict[str, Any], kb_dir: Path, kinds: tuple[str, ...]
) -> dict[str, Any]:
    """The project settings one adapter's SFT data and training use."""
    changed = {**overrides, "kb.dir": str(kb_dir), "generation.n_examples": 0}
    if kinds:
        changed.update(
            {
                "sft.data.input": "knowledge",
                "generation.mode": "icl",
                "generation.knowledge_kinds": list(kinds),
            }
        )
    else:
        changed.update({"sft.data.input": "titles", "generation.mode": "zero_shot"})
    return changed


def adapter_key(
    config: ProjectConfig,
    *,
    kb_dir: Path,
    kinds: tuple[str, ...],
    train: Sequence[Session],
    val: Sequence[Session],
    sample: dict[str, Any],
) -> dict[str, Any]:
    """What an adapter is built from (its artifact key)."""
    from bundlekd.finetune.sft_data import prompt_config

    sft = config.sft
    return {
        "kb": kb_dir.name if kinds else None,  # titles-only prompts read no KB
        "kinds": list(kinds),
        "input": sft.data.input,
        "train": {**sample, **sessions_key(train)},
        "val": sessions_key(val),
        "prompt": prompt_config(config.generation, sft.data.input).model_dump(mode="json"),
        "sft": sft.model_dump(mode="json"),
        "base": config.student.model,
    }


def adapter_artifact(
    root: Path,
    cell: Cell,
    name: str,
    kinds: tuple[str, ...],
    overrides: dict[str, Any],
    *,
    kb_dir: Path,
    train: Sequence[Session],
    val: Sequence[Session],
    status: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """An adapter trained on `train` (val picks the epoch); the model is `<folder>/adapter`."""
    from bundlekd.config import load_config

    config = load_config(
        overrides=adapter_overrides(overrides, kb_dir, kinds), overrides_from="grid settings"
    ).config
    val = val_sample(val, config.sft.train.eval_sessions, cell.seed)
    sample = {"ratio": cell.ratio, "strategy": cell.strategy, "seed": cell.seed}
    key = adapter_key(config, kb_dir=kb_dir, kinds=kinds, train=train, val=val, sample=sample)
    where = cell.domains[0] if cell.scope == "single" else "pooled"
    slug = f"{where}-r{cell.ratio:g}-{cell.strategy}-s{cell.seed}-{name}"
    folder = artifact_dir(root, "adapter", slug, key)

    def build(path: Path) -> dict[str, Any]:
        from bundlekd.app.finetuning import run_sft_data, run_sft_training

        data_file = path / "sft.jsonl"
        manifest = run_sft_data(config, data_file, train=train, val=val, progress=status)
        card = run_sft_training(
            config,
            data_file,
            path / "adapter",
            base_spec=config.student.model,
            status=status,
            progress=(lambda _e, step, steps, _loss: progress(step, steps)) if progress else None,
            command=f"bundlekd experiment run (adapter {name} of {cell.cell_id})",
        )
        return {
            "name": name,
            "kinds": list(kinds),
            "input": config.sft.data.input,
            "rows": manifest.get("rows"),
            "train_sessions": len(train),
            "val_sessions": len(val),
            "model_kind": card["kind"],
            "best_epoch": card["best_epoch"],
            "chosen_on": card["chosen_on"],
            "val_metrics": card["val_metrics"],
            "epochs": card["epochs"],
        }

    return folder, build_once(folder, key, build)


def cell_adapters(
    cell: Cell,
    root: Path,
    overrides: dict[str, Any],
    kb_dir: Path,
    train: list[Session],
    val: list[Session],
    stage: Callable[[str], None],
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Every adapter of an SFT cell (built once, shared): name -> backend spec, and name ->
    its summary and record."""
    specs: dict[str, str] = {}
    adapters: dict[str, dict[str, Any]] = {}
    for name, kinds in adapter_groups(cell).items():
        stage(f"{cell.cell_id}: adapter {name} ({len(train)} training sessions)")
        path, record = adapter_artifact(
            root,
            cell,
            name,
            kinds,
            overrides,
            kb_dir=kb_dir,
            train=train,
            val=val,
            status=stage,
            progress=on_progress,
        )
        specs[kinds[0] if cell.utilization == "sft_routed" else name] = student_spec(path)
        adapters[name] = {
            "summary": artifact_summary(path, record),
            "details": record.get("details", {}),
        }
    return specs, adapters


def sft_chosen(adapters: dict[str, dict[str, Any]], routed: dict[str, Any]) -> dict[str, Any]:
    """The adapters' epochs (chosen on val) and the routing (report titles only, no labels)."""
    if not adapters:
        return {}
    chosen: dict[str, Any] = {
        "sft_epoch": {
            "value": {name: a["details"].get("best_epoch") for name, a in adapters.items()},
            "chosen_on": "val",
            "val_sessions": {
                name: a["details"].get("val_sessions") for name, a in adapters.items()
            },
            "rule": next(iter(adapters.values()))["details"].get("chosen_on"),
            "val_scores": {name: a["details"].get("val_metrics") for name, a in adapters.items()},
        },
        "sft_train_set": {
            "value": {name: a["details"].get("train_sessions") for name, a in adapters.items()},
            "chosen_on": "train",
        },
    }
    if routed:
        chosen["routing"] = {
            "value": routed["routing"],
            "chosen_on": "calibrated on val titles; each report session by its titles only",
            "top_k": routed["routing_k"],
            "calibration_sessions_per_domain": routed["calibration_sessions"],
        }
    return chosen


def student_spec(folder: Path) -> str:
    """The backend spec that generates with the artifact's adapter (or full model)."""
    from bundlekd.finetune.adapter_card import read_card

    model = (folder / "adapter").resolve()
    card = read_card(model)
    if card["kind"] == "full-model":
        return f"hf:{model}"
    return f"{card['base_model']['spec']}+adapter:{model}"


def predict_routed(
    config: ProjectConfig,
    cell: Cell,
    folder: Path,
    report: Sequence[Session],
    kb: KnowledgeBase,
    specs: dict[str, str],
    *,
    val: Sequence[Session],
    arm: str,
    on_stage: Callable[[str], None],
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Route every session (calibrated on `val` titles, `routing`), generate each adapter's
    group with it (resumable files under `predictions/routed/`), merge them into
    `predictions/<arm>.jsonl`; log the routes and the calibration."""
    from bundlekd.agent.runner import run_batch
    from bundlekd.agent.student import StudentAgent
    from bundlekd.app.components import build_llm, knowledge_source, sample_per_domain
    from bundlekd.app.study.routing import (
        ROUTING_FILE,
        calibrate,
        kb_retriever,
        route_sessions,
        write_routes,
    )
    from bundlekd.data.predictions_jsonl import read_predictions, write_predictions
    from bundlekd.files import write_json

    kinds = list(cell.formats)
    k = config.generation.top_k
    retrieve = kb_retriever(kb, k, same_domain=config.retrieval.same_domain)
    calibration = calibrate(
        sample_per_domain(val, CALIBRATION_SESSIONS, cell.seed), kinds, retrieve
    )
    write_json(
        folder / "routing_calibration.json",
        {"top_k": k, "per_domain": calibration, "adapters": specs},
    )
    routes = route_sessions(report, kinds, retrieve, calibration)
    counts = write_routes(folder / ROUTING_FILE, routes)
    groups: dict[str, list[Session]] = {}
    for session, route in zip(report, routes, strict=True):
        groups.setdefault(route.kind, []).append(session)
    merged: list[Prediction] = []
    tokens, seconds = 0, 0.0
    for kind, sessions in groups.items():
        on_stage(f"{cell.cell_id}: adapter {kind} on {len(sessions)} routed sessions")
        generation = config.generation.model_copy(
            update={"mode": "icl", "n_examples": 0, "knowledge_kinds": (kind,)}
        )
        started = time.perf_counter()
        llm = build_llm(
            config.student.model_copy(update={"model": specs[kind]}),
            batch_size=generation.batch_size,
        )
        path = folder / "predictions" / ROUTED_DIR / f"{kind}.jsonl"
        try:
            agent = StudentAgent(
                llm, generation, knowledge_source=knowledge_source(kb, generation, config.retrieval)
            )
            summary = run_batch(agent, sessions, path, on_progress=on_progress)
        finally:
            llm.close()
        seconds += time.perf_counter() - started
        tokens += summary.tokens
        wanted = {x.key for x in sessions}  # a group's file holds its own sessions only
        merged.extend(p for p in read_predictions(path) if p.key in wanted)
    write_predictions(folder / "predictions" / f"{arm}.jsonl", merged)
    return {
        "routing": counts,
        "routing_k": k,
        "calibration_sessions": CALIBRATION_SESSIONS,
        "predict_s": round(seconds, 2),
        "student_tokens": tokens,
        "sessions_per_min": round(60 * len(report) / seconds, 2) if seconds else None,
    }
