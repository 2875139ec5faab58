"""`bundlekd experiment report`: markdown tables, PNG plots and a cost table of finished grids.

Per question (format, quantity, utilization, smoke): a table per domain (AICL's strict P /
strict unique R / coverage / valid, the whole-bundle metrics exact P / exact R / GJS / pair F1,
intent quality, the val scores that chose the settings, with the pair floor and the clustering
bar rows of the same sessions in every table), a plot, a paragraph next to the study's findings
(`findings.py`), the verdicts (`verdicts.py`), and a cost table per cell with the quality it
keeps per unit of compute.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bundlekd.app.study.findings import paragraph
from bundlekd.app.study.plots import bar_plot, quantity_plot
from bundlekd.app.study.ranking import arm_row, headline, metric_name, value
from bundlekd.app.study.verdicts import (
    DEFAULT_CRITERIA,
    LONG,
    default_settings,
    is_default_cell,
    row_of,
    settings_of,
    table_label,
    target_lines,
    val_default_lines,
    val_scores,
)
from bundlekd.errors import ConfigError, DataError
from bundlekd.files import atomic_write_text

FLOOR, BAR = "pair floor", "cluster"
#: the report split's columns of a domain table, after the sessions
TEST_COLUMNS: dict[str, str] = {
    "precision": "strict P",
    "recall": "strict uniq R",
    "coverage": "coverage",
    "valid_rate": "valid",
    "exact_precision": "exact P",
    "exact_recall": "exact R",
    "gjs": "GJS",
    "pair_f1": "pair F1",
    "intent_cosine": "intent cos",
}
#: the val scores shown: P, R and whatever the default comparison judges on
VAL_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(("precision", "recall", *DEFAULT_CRITERIA)))


def load_results(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(study.json, results of the finished cells) of one `experiment run` folder; each
    result labelled by its cell as the grid labels it today.

    Raises:
        ConfigError: no study.json. DataError: an unreadable study.json or result.json.
    """
    from bundlekd.app.study.cells import read_result
    from bundlekd.app.study.grid import Cell
    from bundlekd.files import read_json

    study_file = run_dir / "study.json"
    if not study_file.is_file():
        raise ConfigError(f"{run_dir}: no study.json (not an `experiment run` folder)")
    study = read_json(study_file)
    spec = study.get("study") if isinstance(study, dict) else None
    if not isinstance(spec, dict) or not isinstance(study.get("machine"), dict):
        raise DataError(
            f"{study_file}: not a study record (no study/machine); run `bundlekd experiment "
            f"run GRID --out {run_dir}` again to rewrite it"
        )
    for key, default in (("question", "smoke"), ("source", "?"), ("split", "test")):
        spec.setdefault(key, default)
    spec.setdefault("name", run_dir.name)
    spec.setdefault("domains", [])
    results = []
    for path in sorted((run_dir / "cells").glob("*/result.json")):
        result = read_result(path)
        try:  # what ran, e.g. zero_shot for an llm `icl` cell without knowledge
            result["label"] = Cell.model_validate(result["cell"]).label()
        except ValueError:
            result.setdefault("label", result["cell_id"])
        results.append(result)
    return study, results


def _f(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def domain_table(
    results: Sequence[dict[str, Any]], domain: str, sample: int | None = None
) -> list[str]:
    """Markdown rows: floor and bar of each distinct session set, then one row per cell.

    Cells on a seeded sample (llm cells) and cells on every session have their own floor
    and bar; when a table holds both, each reference row names its session set."""
    header = (
        "| cell | sessions | "
        + " | ".join(TEST_COLUMNS.values())
        + " | "
        + " | ".join(f"val {LONG.get(m, m)}" for m in VAL_COLUMNS)
        + " |"
    )
    lines = [header, "|" + "---|" * (2 + len(TEST_COLUMNS) + len(VAL_COLUMNS))]
    refs: dict[tuple[str, str, int], dict[str, Any]] = {}
    cells = []
    for result in results:
        arm = row_of(result, domain, result["arm"])
        if arm is None:
            continue
        for name in (FLOOR, BAR):
            ref = row_of(result, domain, name)
            if ref is not None:
                refs.setdefault((name, _session_set(result, sample), ref["sessions"]), ref)
        cells.append((result["label"], arm, val_scores(result).get(domain, {})))
    sets = {(key[1], key[2]) for key in refs}
    for (name, where, _n), ref in sorted(refs.items(), key=lambda kv: (-kv[0][2], kv[0])):
        label = "pair floor" if name == FLOOR else "clustering bar"
        suffix = f" ({where})" if len(sets) > 1 else ""
        lines.append(_line(f"*{label}*{suffix}", ref, {}))
    for label, arm, val in cells:
        lines.append(_line(label, arm, val))
    return lines


def _session_set(result: dict[str, Any], sample: int | None) -> str:
    """Which sessions a cell was scored on: every one, or its seed's sample (a grid without
    `sample` scores its sampled cells on every session)."""
    if result.get("sampled") and sample is not None:
        return f"sample of {sample} per domain, seed {result['cell'].get('seed', 0)}"
    return "all sessions"


def _line(label: str, row: dict[str, Any], val: dict[str, Any]) -> str:
    values = [
        row["sessions"],
        *(row.get(k) for k in TEST_COLUMNS),
        *(val.get(m) for m in VAL_COLUMNS),
    ]
    return f"| {label} | " + " | ".join(_f(v) for v in values) + " |"


def cost_table(results: Sequence[dict[str, Any]]) -> list[str]:
    """One row per cell: what it cost, its mean headline metric (GJS; (P+R)/2 for results
    from before the whole-bundle metrics) over its domains and that per CPU-minute."""
    domains = sorted({d for r in results for d in r["cell"]["domains"]})
    metric = headline(results, domains)
    lines = [
        "| cell | sessions | teacher requests / tokens | student tokens | wall s | CPU s "
        f"| sessions/min | peak RSS MB | training s | KB items | mean {metric_name(metric)} "
        f"| {metric_name(metric)} per CPU-min |",
        "|" + "---|" * 12,
    ]
    for result in results:
        cost = result["cost"]
        rows = [arm_row(result, d) for d in result["cell"]["domains"]]
        found = [v for r in rows if (v := value(r, metric)) is not None]
        quality = sum(found) / len(found) if found else None
        cpu = (cost.get("cpu_s") or 0.0) + (cost.get("training_s") or 0.0)
        per_minute = quality / (cpu / 60) if cpu > 0 and quality is not None else None
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
            _f(quality),
            _f(per_minute),
        ]
        lines.append(f"| {table_label(result)} | " + " | ".join(values) + " |")
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
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # an unreadable old record: the scores show as "–"
    return dict((record.get("details") or {}).get("val_metrics") or {})


def _n(value: Any, digits: int) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}"


def _plot(
    spec: dict[str, Any], results: Sequence[dict[str, Any]], domains: list[str], path: Path
) -> Path:
    """The question's figure: GJS beside strict P (whole bundles first, the guard beside it),
    or strict P / strict uniq R for results from before the whole-bundle metrics."""
    question = spec["question"]
    pair = ("gjs", "precision") if headline(results, domains) == "gjs" else ("precision", "recall")
    names = (metric_name(pair[0]), metric_name(pair[1]))
    title = f"{spec['name']} ({question}): {names[0]} and {names[1]} on the {spec['split']} split"
    refs = _plot_refs(results, pair)
    if question == "quantity":
        lines: dict[str, dict[str, list[tuple[float, float, float]]]] = {}
        for result in results:
            cell = result["cell"]
            label = f"{cell['strategy']} {cell['scope']}"
            for domain in cell["domains"]:
                row = row_of(result, domain, result["arm"])
                if row is not None:
                    lines.setdefault(domain, {}).setdefault(label, []).append(
                        (cell["ratio"], *_two(row, pair))
                    )
        return quantity_plot(path, domains, lines, refs, title, names)
    bars: dict[str, list[tuple[str, float, float]]] = {}
    mixed = len({bool(r.get("sampled")) for r in results}) > 1
    for result in results:
        for domain in result["cell"]["domains"]:
            row = row_of(result, domain, result["arm"])
            if row is None:
                continue
            cell = result["cell"]
            ran = result["label"].rsplit(" ", 1)[-1]  # what ran: zero_shot, not icl
            short = f"{result['label'].split(' r=')[0]} r{cell['ratio']:g} {ran}"
            if mixed and result.get("sampled"):  # its own sessions, not the lines' ones
                short += f" (n={row['sessions']})"
            bars.setdefault(domain, []).append((short, *_two(row, pair)))
    return bar_plot(path, domains, bars, refs, title, names)


def _two(row: dict[str, Any], pair: tuple[str, str]) -> tuple[float, float]:
    return float(row.get(pair[0]) or 0.0), float(row.get(pair[1]) or 0.0)


def _plot_refs(
    results: Sequence[dict[str, Any]], pair: tuple[str, str] = ("precision", "recall")
) -> dict[str, dict[str, tuple[float, float]]]:
    """The pair floor and the clustering bar (the two metrics of `pair`) per domain, from the
    cells whose sessions the plot shows: the full split, or the sample when every cell is
    sampled (one sample)."""
    all_sampled = all(r.get("sampled") for r in results)
    refs: dict[str, dict[str, tuple[float, float]]] = {}
    for result in results:
        if result.get("sampled") and not all_sampled:
            continue
        for domain in result["cell"]["domains"]:
            for method in (FLOOR, BAR):
                ref = row_of(result, domain, method)
                if ref is not None:
                    refs.setdefault(domain, {}).setdefault(
                        "clustering bar" if method == BAR else method, _two(ref, pair)
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
        plot = _plot(spec, results, domains, out / f"{name}.png")
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
            "`bundlekd experiment report RUN... --out REPORT` (a folder of your own: the "
            "repository's docs/results holds the study as published).",
            "",
            f"![{name}]({plot.name})",
            "",
        ]
        for domain in domains:
            table = domain_table(results, domain, sample)
            sections += [f"### {name}: {domain}", "", *table, ""]
        sections += [f"### {name}: cost per cell", "", *cost_table(results), ""]
        adapters = adapter_table(results)
        if adapters:
            sections += [f"### {name}: SFT adapters", "", *adapters, ""]
        # the default mode where this grid runs the default settings; else every tool cell
        # at full scale (the arms proposed to meet the target)
        aimed, what = [r for r in results if is_default_cell(r)], "the default mode"
        if not (default_settings(spec) and aimed):
            aimed = [r for r in results if r["cell"]["student"] == "tool" and not r.get("sampled")]
            what = "its tool cells (settings: " + settings_of(spec) + ")"
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
            "On the report split, every labelled session counted: strict P / strict unique R "
            "/ coverage are AICL's subset-hit metrics (a predicted bundle hits a ground-truth "
            "bundle it is a subset of; P = hits per predicted bundle, unique R = share of "
            "ground-truth bundles hit, coverage = predicted size over ground-truth size of a "
            "hit; repeated bundles dropped), valid = share of sessions with a usable answer. "
            "The whole-bundle metrics credit whole bundles only: exact P / exact R count a "
            "predicted bundle equal to a ground-truth one; GJS (greedy Jaccard similarity) "
            "matches predicted and ground-truth bundles one to one by highest Jaccard and "
            "divides the matched sum by the larger count; pair F1 scores the item pairs that "
            "share a bundle. *val* columns are the validation scores that chose the cell's "
            "grouping settings (fit on train, choose on val, report on test). The pair floor "
            "(items 1+2 as one bundle) and the clustering bar (title clustering tuned on val) "
            "are scored on the same sessions.",
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
