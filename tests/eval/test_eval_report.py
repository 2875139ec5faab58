"""results.json / samples.jsonl content and the rich table."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from bundlekd.eval import evaluate, render_table, write_report


def test_write_report_writes_aggregates_config_versions_and_samples(parity_case, tmp_path) -> None:
    predictions, gold = parity_case
    report = evaluate(predictions, gold)
    results_path, samples_path = write_report(report, tmp_path / "run.eval")
    results = json.loads(results_path.read_text())
    assert results["method"] == "test-method"
    assert results["n_sessions"] == 6
    assert results["headline_variant"] == "strict-2025"
    assert results["headline"]["precision"] == pytest.approx(2.5 / 6)
    assert results["headline"]["valid_output_rate"] == pytest.approx(0.5)
    assert results["floor_headline"]["n_sessions"] == 6
    aicl_2024 = results["groups"]["overall"]["method"]["aicl-2024"]
    assert aicl_2024["precision"] == pytest.approx(0.7222222222222222)
    assert set(results["groups"]) == {"electronic", "overall"}
    assert results["config"]["jaccard_tau"] == 0.5
    assert set(results["versions"]) == {"bundlekd", "metrics", "python"}
    rows = [json.loads(line) for line in samples_path.read_text().splitlines()]
    assert [r["session_id"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    first = rows[0]
    assert first["scores"]["hit_pairs_2025"] == 3
    assert first["scores"]["precision_2024"] == pytest.approx(2 / 3)
    assert first["gold"][0]["items"] == ["a1", "a2", "a3", "a4"]
    assert len(first["pred"]) == 4  # as output, 1-item bundle included
    assert (rows[4]["parsed"], rows[4]["valid_output"], rows[2]["valid_output"]) == (
        False,
        False,
        False,
    )


def test_render_table_has_method_and_floor_rows_headline_first(parity_case) -> None:
    predictions, gold = parity_case
    table = render_table(evaluate(predictions, gold))
    headers = [c.header for c in table.columns]
    assert headers[:6] == ["domain", "method", "P", "R", "Cov", "valid"]
    assert headers[6:10] == ["xP", "xR", "GJS", "pairF1"]
    assert table.row_count == 4  # (electronic, overall) x (method, floor)
    console = Console(width=250, record=True)
    console.print(table)
    text = console.export_text()
    assert "pair-floor" in text
    assert "test-method" in text
    assert "0.417" in text  # strict-2025 precision 2.5/6


def test_compact_table_fits_80_columns_and_other_formats(parity_case) -> None:
    from bundlekd.eval.report import report_table
    from bundlekd.eval.tables import render_text, to_rich

    predictions, gold = parity_case
    report = evaluate(predictions, gold)
    console = Console(width=80, record=True)
    console.print(to_rich(report_table(report)))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # numbers are never cut to "0.5…"
    assert "0.417" in text
    markdown = render_text(report_table(report), "markdown")
    assert "| electronic | test-method |" in markdown
    csv_text = render_text(report_table(report, wide=True), "csv")
    assert csv_text.splitlines()[0].startswith("domain,method,n,precision,recall")
    assert '"rows"' in render_text(report_table(report), "json")
