"""The comparison rows and table of the app's jobs (arms, the demo, study cells, ICL kinds).

`bundlekd.eval.compare` gives one row per method with AICL's subset-hit metrics (strict P,
unique R, coverage, valid); a shop wants whole bundles, so every row here also carries the
whole-bundle metrics of the same sessions (exact P/R, GJS, pair and BCubed P/R/F), and the
table shows exact P/R, GJS and pair F1 beside them while staying within 80 columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bundlekd.eval.compare import FLOOR_NAME
from bundlekd.eval.compare import comparison_rows as subset_rows
from bundlekd.eval.compare import comparison_table as subset_table
from bundlekd.eval.evaluator import OVERALL, EvalReport
from bundlekd.eval.metrics import HEADLINE
from bundlekd.eval.tables import Column, TableData

#: in the terminal table, right after the subset-hit metrics
WHOLE_BUNDLE: dict[str, str] = {
    "exact_precision": "xP",
    "exact_recall": "xR",
    "gjs": "GJS",
    "pair_f1": "pairF1",
}
#: with --wide, after those
WHOLE_BUNDLE_WIDE: dict[str, str] = {
    "pair_precision": "pairP",
    "pair_recall": "pairR",
    "bcubed_precision": "B3 P",
    "bcubed_recall": "B3 R",
    "bcubed_f1": "B3 F",
}
_AFTER = ("valid_rate", "coverage", "recall")  # the inserted columns follow the first found


def comparison_rows(
    reports: Mapping[str, EvalReport], domain: str = OVERALL
) -> list[dict[str, Any]]:
    """`bundlekd.eval.compare.comparison_rows` (pair floor first, one row per method), each
    row with the whole-bundle metrics of the headline variant added."""
    rows = subset_rows(reports, domain)
    floors = [f for r in reports.values() if (f := r.group(domain).floor) is not None]
    for row in rows:
        name = row["method"]
        if name in reports:
            aggregate = reports[name].group(domain).method[HEADLINE]
        elif name == FLOOR_NAME and floors:
            aggregate = floors[0][HEADLINE]  # eval's floor row: the first report's floor
        else:
            continue
        row.update({key: getattr(aggregate, key) for key in {**WHOLE_BUNDLE, **WHOLE_BUNDLE_WIDE}})
    return rows


def comparison_table(rows: list[dict[str, Any]], title: str, *, wide: bool = False) -> TableData:
    """Eval's comparison table with the whole-bundle columns next to strict P / unique R /
    coverage / valid (the pair and BCubed ones with `wide`); columns no row has are left out."""
    table = subset_table(rows, title, wide=wide)
    added = {**WHOLE_BUNDLE, **(WHOLE_BUNDLE_WIDE if wide else {})}
    extra = [
        Column(key, header)
        for key, header in added.items()
        if any(row.get(key) is not None for row in rows)
    ]
    if not extra:
        return table
    keys = [c.key for c in table.columns]
    after = next((keys.index(k) + 1 for k in _AFTER if k in keys), len(keys))
    table.columns[after:after] = extra
    table.caption += (
        "; xP/xR: exact bundle match; GJS: greedy Jaccard similarity of predicted and GT "
        "bundles; pairF1: item pairs bundled together" + ("; B3: BCubed" if wide else "")
    )
    return table


def render_comparison(rows: list[dict[str, Any]], title: str, *, wide: bool = False):  # type: ignore[no-untyped-def]
    """A rich table of `comparison_rows` output (see `comparison_table`)."""
    from bundlekd.eval.tables import to_rich

    return to_rich(comparison_table(rows, title, wide=wide))
