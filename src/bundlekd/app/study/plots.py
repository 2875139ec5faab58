"""PNG plots of a study question (matplotlib, headless): one panel per domain, a figure
title, labelled axes and the legend outside the panels (it covers no data).

- quantity: two metrics vs ratio (the report passes GJS and strict precision; strict precision
  and strict unique recall by default), one line per strategy and scope, the pair floor and the
  clustering bar as horizontal lines in each metric's row;
- format / utilization / smoke: bars per cell (the two metrics side by side), with the pair
  floor's and the clustering bar's first metric drawn across the first bars only and their
  second across the second bars only.

A domain without cells says "no data"; one where every cell scored 0 says so, instead of an
empty-looking panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bundlekd.errors import BackendUnavailableError

NO_DATA = "no data"
#: the two metrics a plot shows, by default (results from before the whole-bundle metrics)
PR_NAMES = ("strict P", "strict uniq R")
ALL_ZERO = "every cell scored 0"
_BAR_WIDTH = 0.4
_REF_STYLES = ("--", ":", "-.")


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


def _note(ax: Any, text: str) -> None:
    """A centred grey note in an empty or all-zero panel."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="grey")


def quantity_figure(
    domains: Sequence[str],
    lines: dict[str, dict[str, list[tuple[float, float, float]]]],
    refs: dict[str, dict[str, tuple[float, float]]] | None = None,
    title: str = "",
    names: tuple[str, str] = ("strict precision", "strict unique recall"),
) -> Any:
    """`lines[domain][name]` = [(ratio, first, second), ...] of the metrics `names`;
    `refs[domain]` = {name: (first, second)}, each a horizontal line in its metric's row."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, len(domains), figsize=(4.2 * len(domains), 6.5), squeeze=False)
    for col, domain in enumerate(domains):
        found = lines.get(domain, {})
        for name, points in sorted(found.items()):
            points = sorted(points)
            ratios = [p[0] for p in points]
            axes[0][col].plot(ratios, [p[1] for p in points], marker="o", label=name)
            axes[1][col].plot(ratios, [p[2] for p in points], marker="o", label=name)
        axes[0][col].set_title(domain)
        ratios = sorted({p[0] for points in found.values() for p in points})
        values = [v for points in found.values() for p in points for v in p[1:]]
        for row, metric in enumerate(names):
            ax = axes[row][col]
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
            if not found:
                ax.set_xticks([])
                _note(ax, NO_DATA)
                continue
            references = (refs or {}).get(domain, {}).items()
            for (name, ref), style in zip(references, _REF_STYLES, strict=False):
                ax.axhline(ref[row], linestyle=style, color="grey", label=name)
            ax.set_xscale("log")
            ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
            ax.minorticks_off()
            ax.set_xlabel("ratio of training sessions")
            if not any(values):
                _note(ax, ALL_ZERO)
    _finish(fig, axes, title)
    return fig


def bar_figure(
    domains: Sequence[str],
    bars: dict[str, list[tuple[str, float, float]]],
    refs: dict[str, dict[str, tuple[float, float]]],
    title: str = "",
    names: tuple[str, str] = PR_NAMES,
) -> Any:
    """`bars[domain]` = [(label, first, second)] of the metrics `names`; `refs[domain]` =
    {name: (first, second)}: each reference's first metric is drawn across the first bars and
    its second across the second bars."""
    short = [{"strict P": "P", "strict uniq R": "R"}.get(n, n) for n in names]
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(domains), figsize=(4.8 * len(domains), 4.8), squeeze=False)
    for col, domain in enumerate(domains):
        ax = axes[0][col]
        entries = bars.get(domain, [])
        ax.set_ylim(0, 1)  # bars from 0: a cut axis makes small gaps look large
        ax.set_title(domain)
        ax.set_ylabel("score on the report split")
        ax.grid(axis="y", alpha=0.3)
        if not entries:
            ax.set_xticks([])
            _note(ax, NO_DATA)
            continue
        xs = list(range(len(entries)))
        ax.bar(
            [x - _BAR_WIDTH / 2 for x in xs], [e[1] for e in entries], _BAR_WIDTH, label=names[0]
        )
        ax.bar(
            [x + _BAR_WIDTH / 2 for x in xs],
            [e[2] for e in entries],
            _BAR_WIDTH,
            label=names[1],
        )
        for (name, ref), style in zip(refs.get(domain, {}).items(), _REF_STYLES, strict=False):
            for metric, offset, color in ((0, -_BAR_WIDTH, "navy"), (1, 0.0, "saddlebrown")):
                ax.hlines(
                    [ref[metric]] * len(xs),
                    [x + offset for x in xs],
                    [x + offset + _BAR_WIDTH for x in xs],
                    linestyles=style,
                    colors=color,
                    label=f"{name} {short[metric]}",
                )
        ax.set_xticks(xs)
        ax.set_xticklabels([e[0] for e in entries], rotation=60, ha="right", fontsize=7)
        if not any(v for e in entries for v in e[1:]):
            _note(ax, ALL_ZERO)
    _finish(fig, axes, title)
    return fig


def _finish(fig: Any, axes: Any, title: str) -> None:
    """Title, tight panels, and one legend for the figure to the right of the panels."""
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if handles:
        fig.legend(
            list(handles.values()),
            list(handles),
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            fontsize=8,
            frameon=False,
        )


def quantity_plot(
    path: Path,
    domains: Sequence[str],
    lines: dict[str, dict[str, list[tuple[float, float, float]]]],
    refs: dict[str, dict[str, tuple[float, float]]] | None = None,
    title: str = "",
    names: tuple[str, str] = ("strict precision", "strict unique recall"),
) -> Path:
    """`quantity_figure` saved as a PNG."""
    return _save(quantity_figure(domains, lines, refs, title, names), path)


def bar_plot(
    path: Path,
    domains: Sequence[str],
    bars: dict[str, list[tuple[str, float, float]]],
    refs: dict[str, dict[str, tuple[float, float]]],
    title: str = "",
    names: tuple[str, str] = PR_NAMES,
) -> Path:
    """`bar_figure` saved as a PNG."""
    return _save(bar_figure(domains, bars, refs, title, names), path)


def _save(fig: Any, path: Path) -> Path:
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")  # the legend right of the panels included
    plt.close(fig)
    tmp.replace(path)
    return path
