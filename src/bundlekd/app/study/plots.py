"""PNG plots of a study question (matplotlib, headless): one panel per domain.

- quantity: strict precision and strict unique recall vs ratio, one line per strategy and scope;
- format / utilization / smoke: bars per cell (P and R side by side), with the pair floor and
  the clustering bar as horizontal lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bundlekd.errors import BackendUnavailableError


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise BackendUnavailableError(
            "plots need matplotlib: pip install 'bundlekd[plot]'"
        ) from exc
    return plt


def quantity_plot(
    path: Path,
    domains: Sequence[str],
    lines: dict[str, dict[str, list[tuple[float, float, float]]]],
    refs: dict[str, dict[str, tuple[float, float]]] | None = None,
) -> Path:
    """`lines[domain][name]` = [(ratio, precision, recall), ...]; `refs[domain]` =
    {name: (precision, recall)} drawn as horizontal lines."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, len(domains), figsize=(4.2 * len(domains), 6.5), squeeze=False)
    for col, domain in enumerate(domains):
        for name, points in sorted(lines.get(domain, {}).items()):
            points = sorted(points)
            ratios = [p[0] for p in points]
            axes[0][col].plot(ratios, [p[1] for p in points], marker="o", label=name)
            axes[1][col].plot(ratios, [p[2] for p in points], marker="o", label=name)
        axes[0][col].set_title(domain)
        ratios = sorted({p[0] for points in lines.get(domain, {}).values() for p in points})
        for row, metric in enumerate(("strict precision", "strict unique recall")):
            references = (refs or {}).get(domain, {}).items()
            for (name, values), style in zip(references, ("--", ":"), strict=False):
                axes[row][col].axhline(values[row], linestyle=style, color="grey", label=name)
            axes[row][col].set_xscale("log")
            axes[row][col].set_xticks(ratios, [f"{r:g}" for r in ratios])
            axes[row][col].minorticks_off()
            axes[row][col].set_xlabel("ratio of training sessions")
            axes[row][col].set_ylabel(metric)
            axes[row][col].grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path, plt)


def bar_plot(
    path: Path,
    domains: Sequence[str],
    bars: dict[str, list[tuple[str, float, float]]],
    refs: dict[str, dict[str, tuple[float, float]]],
) -> Path:
    """`bars[domain]` = [(label, precision, recall)]; `refs[domain]` = {name: (precision,
    recall)}, their precision drawn as horizontal lines."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(domains), figsize=(4.8 * len(domains), 4.8), squeeze=False)
    for col, domain in enumerate(domains):
        ax = axes[0][col]
        entries = bars.get(domain, [])
        xs = range(len(entries))
        ax.bar([x - 0.2 for x in xs], [e[1] for e in entries], width=0.4, label="strict P")
        ax.bar([x + 0.2 for x in xs], [e[2] for e in entries], width=0.4, label="strict uniq R")
        for (name, values), style in zip(refs.get(domain, {}).items(), ("--", ":"), strict=False):
            ax.axhline(values[0], linestyle=style, color="grey", label=f"{name} P")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([e[0] for e in entries], rotation=60, ha="right", fontsize=7)
        ax.set_ylim(0, 1)  # bars from 0: a cut axis makes small gaps look large
        ax.set_title(domain)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path, plt)


def _save(fig: Any, path: Path, plt: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path
