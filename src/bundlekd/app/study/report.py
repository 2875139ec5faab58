"""`bundlekd experiment report`: markdown tables, PNG plots and a cost table of finished grids.

Per question (format, quantity, utilization, smoke): a table per domain (strict P / strict
unique R / coverage / valid / intent quality, the val scores that chose the settings, with the
pair floor and the clustering bar rows of the same sessions in every table), a plot, a paragraph
next to the study's findings (`findings.py`), and a cost table per cell with the quality it
keeps per unit of compute.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bundlekd.app.study.findings import paragraph
from bundlekd.app.study.plots import bar_plot, quantity_plot
from bundlekd.errors import ConfigError
from bundlekd.files import atomic_write_text

FLOOR, BAR = "pair floor", "cluster"


def load_results(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(study.json, results of the finished cells) of one `experiment run` folder."""
    study_file = run_dir / "study.json"
    if not study_file.is_file():
        raise ConfigError(f"{run_dir}: no study.json (not an `experiment run` folder)")
    study = json.loads(study_file.read_text(encoding="utf-8"))
    results = []
    for path in sorted((run_dir / "cells").glob("*/result.json")):
        results.append(json.loads(path.read_text(encoding="utf-8")))
    return study, results


def row_of(result: dict[str, Any], domain: str, method: str) -> dict[str, Any] | None:
    for row in result["tables"].get(domain, []):
        if row["method"] == method:
            return row  # type: ignore[no-any-return]
    return None


def _f(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def domain_table(results: Sequence[dict[str, Any]], domain: str) -> list[str]:
    """Markdown rows: floor and bar of each distinct session set, then one row per cell."""
    header = (
        "| cell | sessions | strict P | strict uniq R | coverage | valid | intent cos "
        "| val P | val R |"
    )
    lines = [header, "|" + "---|" * 9]
    refs: dict[tuple[str, int], dict[str, Any]] = {}
    cells = []
    for result in results:
        arm = row_of(result, domain, result["arm"])
        if arm is None:
            continue
        for name in (FLOOR, BAR):
            ref = row_of(result, domain, name)
            if ref is not None:
                refs.setdefault((name, ref["sessions"]), ref)
        val = ((result.get("chosen", {}).get("tool_val_scores") or {}).get("value") or {}).get(
            domain, {}
        )
        cells.append((result["label"], arm, val))
    for (name, _n), ref in sorted(refs.items(), key=lambda kv: (-kv[0][1], kv[0][0])):
        label = "pair floor" if name == FLOOR else "clustering bar"
        lines.append(_line(f"*{label}*", ref, {}))
    for label, arm, val in cells:
        lines.append(_line(label, arm, val))
    return lines


def _line(label: str, row: dict[str, Any], val: dict[str, Any]) -> str:
    values = [
        row["sessions"],
        row["precision"],
        row["recall"],
        row["coverage"],
        row["valid_rate"],
        row.get("intent_cosine"),
        val.get("precision"),
        val.get("recall"),
    ]
    return f"| {label} | " + " | ".join(_f(v) for v in values) + " |"


def cost_table(results: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "| cell | sessions | teacher requests / tokens | student tokens | wall s | CPU s "
        "| sessions/min | peak RSS MB | training s | KB items | mean P | (P+R)/2 per CPU-min |",
        "|" + "---|" * 12,
    ]
    for result in results:
        cost = result["cost"]
        domains = result["cell"]["domains"]
        rows = [row_of(result, d, result["arm"]) for d in domains]
        found = [r for r in rows if r is not None]
        mean_p = sum(r["precision"] for r in found) / len(found) if found else None
        quality = sum((r["precision"] + r["recall"]) / 2 for r in found) / max(len(found), 1)
        cpu = (cost.get("cpu_s") or 0.0) + (cost.get("training_s") or 0.0)
        per_minute = quality / (cpu / 60) if cpu > 0 else None
        values = [
            str(result["sessions"]),
            f"{cost.get('teacher_requests') or 0} / {cost.get('teacher_tokens') or 0}",
            str(cost.get("student_tokens") or 0),
            _n(cost.get("wall_s"), 0),
            _n(cost.get("cpu_s"), 0),
            _n(cost.get("sessions_per_min"), 1),
            _n(cost.get("peak_rss_mb"), 0),
            _n(cost.get("training_s"), 0),
            " ".join(f"{k} {v}" for k, v in (result.get("knowledge") or {}).items() if v) or "–",
            _f(mean_p),
            _f(per_minute),
        ]
        lines.append(f"| {result['label']} | " + " | ".join(values) + " |")
    return lines


def adapter_table(results: Sequence[dict[str, Any]]) -> list[str]:
    """One row per LoRA adapter a cell used: its training data, the epoch val chose with the
    val scores that chose it, what it cost, and (routed cells) the sessions sent to it."""
    lines = [
        "| cell | adapter | training sessions | epoch (val) | val P | val R | train wall s "
        "| train CPU s | reused | routed sessions |",
        "|" + "---|" * 10,
    ]
    for result in results:
        epoch = (result.get("chosen") or {}).get("sft_epoch") or {}
        trained = ((result.get("chosen") or {}).get("sft_train_set") or {}).get("value") or {}
        for name, best in (epoch.get("value") or {}).items():
            built = (result.get("artifacts") or {}).get(f"adapter:{name}") or {}
            val = (epoch.get("val_scores") or {}).get(name) or _adapter_val(built)
            routed = (result.get("routing") or {}).get(name)
            values = [
                name,
                str(trained.get(name, "–")),
                str(best),
                _f(val.get("precision")),
                _f(val.get("recall")),
                _n(built.get("build_wall_s"), 0),
                _n(built.get("build_cpu_s"), 0),
                "yes" if built.get("reused") else "no",
                "–" if routed is None and not result.get("routing") else str(routed or 0),
            ]
            lines.append(f"| {result['label']} | " + " | ".join(values) + " |")
    return lines if len(lines) > 2 else []


def _adapter_val(built: dict[str, Any]) -> dict[str, Any]:
    """The val scores in the adapter's own record (results written before cells copied them)."""
    path = Path(built["dir"]) / "artifact.json" if built.get("dir") else None
    if path is None or not path.is_file():
        return {}
    record = json.loads(path.read_text(encoding="utf-8"))
    return dict((record.get("details") or {}).get("val_metrics") or {})


def _n(value: Any, digits: int) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}"


def val_default_lines(
    results: Sequence[dict[str, Any]], default: dict[str, Any] | None = None
) -> list[str]:
    """Tool cells against today's default (`default`: the learned tool with every feature
    group, all training sessions, pooled), on val only: the smallest margin over the domains,
    in P and in R. Without that cell in the report, against each cell's val clustering bar."""
    lines = [
        "| cell | min val ΔP | min val ΔR | not worse in P or R, better in one, in every domain |",
        "|---|---|---|---|",
    ]
    reference = _val_scores(default) if default is not None else {}
    for result in results:
        scores = _val_scores(result)
        same_cell = default is not None and result["cell_id"] == default["cell_id"]
        if same_cell and scores == reference:
            continue  # the default itself, also when another grid ran the same cell
        chosen = result.get("chosen", {})
        bar = (
            reference or (chosen.get("val_clustering_bar") or {}).get("value") or _saved_bar(result)
        )
        domains = [d for d in scores if d in bar]
        if not domains or (not reference and result["cell"]["formats"] == []):
            continue
        dp = min(scores[d]["precision"] - bar[d]["precision"] for d in domains)
        dr = min(scores[d]["recall"] - bar[d]["recall"] for d in domains)
        every = len(domains) == len(result["cell"]["domains"])
        beats = all(_beats(scores[d], bar[d]) for d in domains)
        verdict = "yes" if beats and every else "no"
        lines.append(f"| {result['label']} | {dp:+.3f} | {dr:+.3f} | {verdict} |")
    return lines if len(lines) > 2 else []


def _beats(score: dict[str, float], other: dict[str, float]) -> bool:
    """Not worse in P or R, better in one."""
    dp, dr = score["precision"] - other["precision"], score["recall"] - other["recall"]
    return dp >= 0 and dr >= 0 and dp + dr > 0


def _val_scores(result: dict[str, Any]) -> dict[str, Any]:
    value = ((result.get("chosen") or {}).get("tool_val_scores") or {}).get("value")
    return value or {}


def _settings_of(spec: dict[str, Any]) -> str:
    shown = {**spec.get("base", {})}
    for key in ("tool_coverage_floor", "cross_fit_folds"):
        if key in spec:
            shown[key] = spec[key]
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "defaults"


def default_settings(spec: dict[str, Any]) -> bool:
    """Whether a grid runs with the project's default settings (no base overrides, no
    coverage floor): only there is the default-looking cell today's default."""
    return not spec.get("base") and not spec.get("tool_coverage_floor")


def is_default_cell(result: dict[str, Any]) -> bool:
    """The default mode: the tool with every feature group, all training sessions (random),
    one pooled KB, knowledge at inference."""
    from bundlekd.app.study.grid import ALL_TOOL_FEATURES

    cell = result["cell"]
    return (
        cell["student"] == "tool"
        and tuple(cell["formats"]) == ALL_TOOL_FEATURES
        and cell["ratio"] == 1.0
        and cell["scope"] == "pooled"
        and cell["utilization"] == "memory"
        and cell["strategy"] == "random"
    )


TARGET_P, TARGET_R = 0.85, 0.80


def target_lines(results: Sequence[dict[str, Any]], domains: Sequence[str]) -> list[str]:
    """Cells against the quality target: strict P >= 0.85, strict unique R >= 0.80, coverage
    not below the clustering bar's of the same sessions, per domain."""
    lines = [
        "| cell | domain | strict P (≥ 0.85) | strict uniq R (≥ 0.80) | coverage (≥ bar) | met |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        for domain in domains:
            row, bar = row_of(result, domain, result["arm"]), row_of(result, domain, BAR)
            if row is None or bar is None:
                continue
            met = (
                row["precision"] >= TARGET_P
                and row["recall"] >= TARGET_R
                and row["coverage"] >= bar["coverage"]
            )
            lines.append(
                f"| {result['label']} | {domain} | {row['precision']:.3f} | {row['recall']:.3f} "
                f"| {row['coverage']:.3f} (bar {bar['coverage']:.3f}) | {'yes' if met else 'no'} |"
            )
    return lines if len(lines) > 2 else []


def _saved_bar(result: dict[str, Any]) -> dict[str, Any]:
    """The val clustering bar from the cell's KB (results written before cells recorded it)."""
    folder = (result.get("artifacts", {}).get("kb") or {}).get("dir")
    path = Path(folder) / "tool" / "tool.json" if folder else None
    if path is None or not path.is_file():
        return {}
    saved = json.loads(path.read_text(encoding="utf-8"))
    return dict(saved.get("metadata", {}).get("val_clustering_bar") or {})


def _plot(question: str, results: Sequence[dict[str, Any]], domains: list[str], path: Path) -> Path:
    refs = _plot_refs(results)
    if question == "quantity":
        lines: dict[str, dict[str, list[tuple[float, float, float]]]] = {}
        for result in results:
            cell = result["cell"]
            name = f"{cell['strategy']} {cell['scope']}"
            for domain in cell["domains"]:
                row = row_of(result, domain, result["arm"])
                if row is not None:
                    lines.setdefault(domain, {}).setdefault(name, []).append(
                        (cell["ratio"], row["precision"], row["recall"])
                    )
        return quantity_plot(path, domains, lines, refs)
    bars: dict[str, list[tuple[str, float, float]]] = {}
    for result in results:
        for domain in result["cell"]["domains"]:
            row = row_of(result, domain, result["arm"])
            if row is None:
                continue
            cell = result["cell"]
            short = f"{result['label'].split(' r=')[0]} r{cell['ratio']:g} {cell['utilization']}"
            bars.setdefault(domain, []).append((short, row["precision"], row["recall"]))
    return bar_plot(path, domains, bars, refs)


def _plot_refs(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, tuple[float, float]]]:
    """The pair floor and the clustering bar (P, R) per domain, from the cells whose sessions
    the plot shows: the full split, or the sample when every cell is sampled (one sample)."""
    all_sampled = all(r.get("sampled") for r in results)
    refs: dict[str, dict[str, tuple[float, float]]] = {}
    for result in results:
        if result.get("sampled") and not all_sampled:
            continue
        for domain in result["cell"]["domains"]:
            for name in (FLOOR, BAR):
                ref = row_of(result, domain, name)
                if ref is not None:
                    refs.setdefault(domain, {}).setdefault(
                        "clustering bar" if name == BAR else name,
                        (ref["precision"], ref["recall"]),
                    )
    return refs


def _grid_file(name: str) -> str:
    return name if name.endswith(".yaml") else f"configs/{name}.yaml"


def _order(result: dict[str, Any]) -> tuple[Any, ...]:
    cell = result["cell"]
    return (
        cell["student"],
        cell["scope"],
        cell["strategy"],
        len(cell["formats"]),
        cell["formats"],
        cell["ratio"],
        cell["utilization"],
    )


def write_study_report(run_dirs: Sequence[Path], out: Path) -> Path:
    """Write `out/README.md` and `out/<question>.png` from finished `experiment run` folders.

    Raises:
        ConfigError: a folder that is not a run, or no finished cell at all.
    """
    sections: list[str] = []
    total = 0
    runs = [load_results(Path(run_dir)) for run_dir in run_dirs]
    defaults = [
        r
        for study, results in runs
        if default_settings(study["study"])
        for r in results
        if is_default_cell(r)
    ]
    default_cell = defaults[0] if defaults else None
    for study, results in runs:
        if not results:
            continue
        results.sort(key=_order)
        total += len(results)
        spec = study["study"]
        question, name = spec["question"], spec["name"]
        domains = [d for d in spec["domains"] if any(d in r["tables"] for r in results)]
        plot = _plot(question, results, domains, out / f"{name}.png")
        planned = len(study.get("cells", []))
        sample = spec.get("sample")
        sampled = f", llm cells on a seeded {sample} sessions per domain" if sample else ""
        sections += [
            f"## {name} ({question})",
            "",
            f"{len(results)} of {planned} planned cells finished; source `{spec['source']}`, "
            f"report split `{spec['split']}`"
            + sampled
            + f". Machine: {study['machine'].get('cpu', 'CPU not recorded')}, "
            f"{study['machine']['platform']}, {study['machine']['cpus']} CPUs, "
            f"BUNDLEKD_NUM_THREADS={study['machine']['threads']}.",
            "",
            paragraph(question, results, domains),
            "",
            f"Reproduce: `nice -n 10 bundlekd experiment run {_grid_file(name)} --out RUN "
            "--artifacts SHARED` (resumes; `--dry-run` lists the cells), then "
            "`bundlekd experiment report RUN... --out docs/results`.",
            "",
            f"![{name}]({plot.name})",
            "",
        ]
        for domain in domains:
            sections += [f"### {name}: {domain}", "", *domain_table(results, domain), ""]
        sections += [f"### {name}: cost per cell", "", *cost_table(results), ""]
        adapters = adapter_table(results)
        if adapters:
            sections += [f"### {name}: SFT adapters", "", *adapters, ""]
        # the default mode where this grid runs the default settings; else every tool cell
        # at full scale (the arms proposed to meet the target)
        aimed, what = [r for r in results if is_default_cell(r)], "the default mode"
        if not (default_settings(spec) and aimed):
            aimed = [r for r in results if r["cell"]["student"] == "tool" and not r.get("sampled")]
            what = "its tool cells (settings: " + _settings_of(spec) + ")"
        target = target_lines(aimed, domains)
        if target:
            sections += [f"### {name}: {what} against the quality target", ""]
            sections += [*target, ""]
        tools = [r for r in results if r["cell"]["student"] == "tool"]
        default = val_default_lines(tools, default_cell)
        if default:
            against = (
                f"today's default ({default_cell['label']})"
                if default_cell is not None
                else "the clustering bar (no default cell in this report)"
            )
            sections += [f"### {name}: against {against}, on val only", "", *default, ""]
    if not total:
        raise ConfigError("no finished cells in " + ", ".join(str(d) for d in run_dirs))
    text = "\n".join(
        [
            "# The study, reproduced (generated by `bundlekd experiment report`)",
            "",
            "Strict P / strict unique R / coverage / valid rate are the headline metrics "
            "(DESIGN.md §3) on the report split; *val P / val R* are the validation scores "
            "that chose the cell's grouping settings (fit on train, choose on val, report on "
            "test). The pair floor and the clustering bar are scored on the same sessions.",
            "Costs: wall and CPU seconds of the cell (prediction and scoring; CPU s is this "
            "process's CPU time, so it excludes waiting on the shared box), training s = wall "
            "seconds of building its KB, tool, embedder and LoRA adapters (a shared artifact "
            "counts for every cell that uses it; the first build also fills the embedding "
            "cache), peak RSS of the process so far. Teacher requests / tokens: what distilling "
            "the cell's KB asked of the teacher (prompt + completion tokens, answers served "
            "from the shared teacher cache included: the knowledge's cost, paid once).",
            "",
            *sections,
        ]
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / "README.md"
    atomic_write_text(path, text + "\n")
    return path
