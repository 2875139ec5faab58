"""The study grid end to end on the packaged sample data, and its val-only choices."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from bundlekd.app.study.grid import StudyConfig, expand, load_study
from bundlekd.app.study.report import write_study_report
from bundlekd.app.study.runner import run_study
from bundlekd.data.schema import Bundle
from bundlekd.data.sessions_jsonl import write_sessions
from bundlekd.data.sources import load_sample
from bundlekd.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_every_shipped_grid_loads_and_expands() -> None:
    sizes = {p.stem: len(expand(load_study(p))) for p in sorted(CONFIGS.glob("*.yaml"))}
    assert set(sizes) >= {"smoke", "rq1_format", "rq2_quantity", "rq3_utilization"}
    # 5 ratios x 4 strategies x (1 pooled + 3 single-domain cells)
    assert sizes["rq2_quantity"] == 80
    assert sizes["rq3_utilization"] == 4  # none/memory, none/weights, all/memory, all/both


@pytest.mark.slow
def test_smoke_grid_runs_resumes_and_reports(tmp_path: Path) -> None:
    study = load_study(CONFIGS / "smoke.yaml")
    results = run_study(study, tmp_path / "run")
    cells = expand(study)
    assert len(results) == len(cells) == 5
    for result in results:
        for domain in result["cell"]["domains"]:
            methods = [row["method"] for row in result["tables"][domain]]
            assert methods[:1] == ["pair floor"]
            assert "cluster" in methods
        assert result["cost"]["wall_s"] > 0
        config = tmp_path / "run" / "cells" / result["cell_id"] / "config.yaml"
        assert yaml.safe_load(config.read_text().split("\n", 1)[1])["data"]["source"] == "sample"
    tool = [r for r in results if r["arm"] == "tool"]
    assert {r["chosen"]["tool_settings"]["chosen_on"] for r in tool} == {"val"}
    # the learned cells share nothing but their KB configuration; each KB was built once
    kbs = list((tmp_path / "run" / "artifacts" / "kb").glob("*/artifact.json"))
    assert len(kbs) == 5  # tool (r0.5, r1) x (cosine, learned), and the llm cell's

    again = run_study(study, tmp_path / "run")  # resumes: nothing is re-run
    assert [r["cost"] for r in again] == [r["cost"] for r in results]

    readme = write_study_report([tmp_path / "run"], tmp_path / "report")
    text = readme.read_text()
    for domain in ("electronic", "clothing", "food"):
        table = text.split(f"### smoke: {domain}")[1].split("###")[0]
        assert "*pair floor*" in table
        assert "*clustering bar*" in table
        assert re.search(r"\| tool:cosine\+memory r=1 .*\| 0\.\d{3} \|", table)
    assert "cost per cell" in text
    png = tmp_path / "report" / "smoke.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000


def _shifted_test_labels(path: Path) -> Path:
    """The sample data with every test session's bundles replaced by its first two items."""
    sessions = []
    for session in load_sample().sessions:
        if session.split == "test":
            first = Bundle(items=tuple(i.item_id for i in session.items[:2]), intent="other")
            session = session.model_copy(update={"bundles": (first,)})
        sessions.append(session)
    write_sessions(path, sessions)
    return path


@pytest.mark.slow
def test_test_labels_cannot_change_a_chosen_setting(tmp_path: Path) -> None:
    original = tmp_path / "original.jsonl"
    write_sessions(original, load_sample().sessions)
    shifted = _shifted_test_labels(tmp_path / "shifted.jsonl")
    runs = []
    for name, source in (("a", original), ("b", shifted)):
        study = StudyConfig(
            name=name,
            source=str(source),
            grid={"formats": [[], ["cosine", "memory"]], "ratio": [1.0]},  # type: ignore[arg-type]
        )
        runs.append({r["cell"]["formats"].__repr__(): r for r in run_study(study, tmp_path / name)})
    for key, first in runs[0].items():
        second = runs[1][key]
        assert first["chosen"] == second["chosen"]
        # the test labels did differ, and were what the cells were scored on
        assert json.dumps(first["tables"]) != json.dumps(second["tables"])


def test_a_run_folder_refuses_cells_of_other_settings(tmp_path: Path) -> None:
    from bundlekd.app.study.runner import _write_study, check_same_settings, plan

    study = load_study(CONFIGS / "smoke.yaml")
    _write_study(study, tmp_path, plan(study, tmp_path))
    check_same_settings(study.model_copy(update={"name": "renamed"}), tmp_path)  # no cells yet
    (tmp_path / "cells" / "c1").mkdir(parents=True)
    (tmp_path / "cells" / "c1" / "result.json").write_text("{}", encoding="utf-8")
    check_same_settings(study, tmp_path)  # same settings: resumes
    with pytest.raises(ConfigError, match=r"changed: cross_fit_folds, sample"):
        check_same_settings(study.model_copy(update={"sample": 5, "cross_fit_folds": 3}), tmp_path)


def _grid(tmp_path: Path, **fields: object) -> Path:
    """A small grid file on the packaged sample, with `fields` changed."""
    spec = {
        "name": "probe",
        "source": "sample",
        "grid": {"formats": [[]], "utilization": ["memory"]},
        **fields,
    }
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_a_sample_below_one_is_refused_up_front(tmp_path: Path) -> None:
    from bundlekd.app.study.grid import with_sample

    with pytest.raises(ConfigError, match=r"probe.yaml: invalid grid: sample: .*greater than"):
        load_study(_grid(tmp_path, sample=-1))
    study = load_study(_grid(tmp_path))
    with pytest.raises(ConfigError, match=r"--sample must be a positive number .* got 0"):
        with_sample(study, 0)
    assert with_sample(study, 3).sample == 3


def test_an_empty_or_repeated_domain_list_is_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"invalid grid: domains: .*at least 1 item"):
        load_study(_grid(tmp_path, domains=[]))
    with pytest.raises(ConfigError, match=r"domain 'food' twice"):
        load_study(_grid(tmp_path, domains=["food", "food"]))


def test_a_grid_without_a_valid_cell_is_refused_when_loaded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no valid cell"):
        load_study(_grid(tmp_path, grid={"student": ["tool"], "utilization": ["icl"]}))


def test_preflight_checks_base_settings_and_names_the_grid(tmp_path: Path) -> None:
    from bundlekd.app.study.runner import preflight

    study = load_study(_grid(tmp_path, base={"kb.tool_scorer": "nonsense"}))
    with pytest.raises(ConfigError) as caught:
        preflight(study, tmp_path / "run")
    message = str(caught.value)
    assert "kb.tool_scorer" in message
    assert "[from grid probe base]" in message
    assert "[from cli]" not in message
    unknown = load_study(_grid(tmp_path, base={"kb.no_such_setting": 1}))
    with pytest.raises(ConfigError, match=r"kb.no_such_setting.*\[from grid probe base\]"):
        preflight(unknown, tmp_path / "run")
    assert len(preflight(load_study(_grid(tmp_path)), tmp_path / "run")) == 1


def test_an_unreadable_study_record_with_cells_is_refused(tmp_path: Path) -> None:
    from bundlekd.app.study.runner import check_same_settings

    study = load_study(_grid(tmp_path))
    (tmp_path / "study.json").write_text("{not json", encoding="utf-8")
    check_same_settings(study, tmp_path)  # no cells yet: the run rewrites it
    (tmp_path / "cells" / "c1").mkdir(parents=True)
    (tmp_path / "cells" / "c1" / "result.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"study.json is unreadable.*use a new --out"):
        check_same_settings(study, tmp_path)


def test_a_corrupt_cell_result_is_one_line_naming_the_file(tmp_path: Path) -> None:
    from bundlekd.app.study.cells import read_result
    from bundlekd.errors import DataError

    path = tmp_path / "cell" / "result.json"
    path.parent.mkdir()
    for text, expected in (
        ('{"cell": ', r"invalid JSON at line 1"),
        ("[1, 2]", r"a cell result is a JSON object"),
        ('{"cell": {}, "arm": "tool"}', r"not a cell result \(missing or bad: \['cell_id'"),
    ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(DataError) as caught:
            read_result(path)
        message = str(caught.value)
        assert re.search(expected, message), message
        assert str(path) in message
        assert f"delete {path.parent} to run that cell again" in message
        assert "\n" not in message


def test_an_llm_cell_is_labelled_with_the_mode_it_ran() -> None:
    from bundlekd.app.study.grid import Cell

    fields = {
        "domains": ("food",),
        "student": "llm",
        "ratio": 1.0,
        "strategy": "random",
        "scope": "pooled",
        "utilization": "icl",
        "model": "smollm2",
        "seed": 0,
    }
    assert Cell(formats=(), **fields).label().endswith(" zero_shot")  # type: ignore[arg-type]
    assert Cell(formats=("exemplar",), **fields).label().endswith(" few_shot")  # type: ignore[arg-type]
    assert Cell(formats=("rule",), **fields).label().endswith(" icl")  # type: ignore[arg-type]
    sft = {**fields, "utilization": "sft"}
    assert Cell(formats=(), **sft).label().endswith(" sft")  # type: ignore[arg-type]
