"""The study grid's SFT utilizations for the LLM student: cells, routing, adapter keys, and one
routed cell for real (a tiny random Llama, one training step per adapter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundlekd.app.study.cells import kb_overrides, project_overrides
from bundlekd.app.study.grid import Cell, StudyConfig, expand, load_study
from bundlekd.app.study.routing import calibrate, choose, route_sessions, write_routes
from bundlekd.app.study.sft_cells import adapter_groups, adapter_key, adapter_overrides
from bundlekd.config import load_config
from bundlekd.data.sources import load_sample
from fixtures.tiny_model import tiny_model_dir  # noqa: F401  (re-exported fixture)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _study(**grid: object) -> StudyConfig:
    return StudyConfig(name="t", source="sample", grid={"student": ["llm"], **grid})  # type: ignore[arg-type]


def test_the_rq3_llm_grid_has_every_utilization() -> None:
    cells = expand(load_study(CONFIGS / "rq3_utilization_llm.yaml"))
    assert sorted((c.utilization, len(c.formats)) for c in cells) == [
        ("icl", 0), ("icl", 3), ("sft", 0), ("sft_icl", 3), ("sft_routed", 3)
    ]  # fmt: skip


def test_sft_utilizations_expand_to_the_cells_that_make_sense() -> None:
    study = _study(
        formats=[[], ["pattern", "rule", "thought"], ["rule"], ["exemplar", "rule"]],
        utilization=["icl", "sft", "sft_icl", "sft_routed"],
        ratio=[0.5],
    )
    cells = {(c.utilization, "+".join(c.formats) or "-", c.ratio) for c in expand(study)}
    assert cells == {
        ("icl", "-", 1.0),  # zero-shot reads no knowledge: one cell at ratio 1
        ("icl", "pattern+rule+thought", 0.5),
        ("icl", "rule", 0.5),
        ("icl", "exemplar+rule", 0.5),
        ("sft", "-", 0.5),  # the training sample is the quantity: the ratio stays
        ("sft_icl", "pattern+rule+thought", 0.5),
        ("sft_icl", "rule", 0.5),
        ("sft_routed", "pattern+rule+thought", 0.5),  # one kind is no routing
    }
    routed = next(c for c in expand(study) if c.utilization == "sft_routed")
    assert adapter_groups(routed) == {k: (k,) for k in ("pattern", "rule", "thought")}
    mixed = next(c for c in expand(study) if c.utilization == "sft_icl" and len(c.formats) == 3)
    assert adapter_groups(mixed) == {"mixed": ("pattern", "rule", "thought")}
    # ICL and SFT cells of the same kinds share one KB (and the KBs earlier grids built)
    icl = next(c for c in expand(study) if c.utilization == "icl" and len(c.formats) == 3)
    assert kb_overrides(mixed, project_overrides(study, mixed)) == kb_overrides(
        icl, project_overrides(study, icl)
    )
    assert project_overrides(study, mixed)["generation.n_examples"] == 0


def test_the_router_picks_the_kind_most_relevant_for_its_kind(tmp_path: Path) -> None:
    kinds = ["pattern", "rule", "thought"]
    sessions = [s for s in load_sample().split("test") if s.domain == "food"][:3]
    val = [s for s in load_sample().split("val") if s.domain == "food"][:2]
    # patterns always score higher than rules in raw cosine; what counts is each kind's
    # score against its own val scores
    raw = {
        val[0].key: {"pattern": [0.6, 0.5], "rule": [0.2], "thought": [0.3]},
        val[1].key: {"pattern": [0.4, 0.3], "rule": [0.1], "thought": [0.3]},
        sessions[0].key: {"pattern": [0.45], "rule": [0.3], "thought": [0.3]},  # rule: z 3
        sessions[1].key: {"pattern": [0.55], "rule": [0.1]},  # pattern z 1, rule z -1
        sessions[2].key: {},  # nothing retrieved
    }
    retrieve = lambda session, kind: raw[session.key].get(kind, [])  # noqa: E731
    calibration = calibrate(val, kinds, retrieve)
    assert calibration["food"]["pattern"] == pytest.approx((0.45, 0.1))
    assert calibration["food"]["thought"] == pytest.approx((0.3, 0.0))
    routes = route_sessions(sessions, kinds, retrieve, calibration)
    assert [r.kind for r in routes] == ["rule", "pattern", "pattern"]
    assert routes[0].z["rule"] == pytest.approx(3.0)
    assert routes[1].z["thought"] is None  # no thought retrieved: it cannot win
    # a kind never retrieved on val cannot win; a tie goes to the earlier kind of the formats
    assert choose({"rule": 0.2, "thought": 0.9}, {"rule": (0.1, 0.1)}, kinds)[0] == "rule"
    same = {"rule": (0.2, 0.1), "thought": (0.2, 0.1)}
    assert choose({"rule": 0.3, "thought": 0.3}, same, kinds)[0] == "rule"
    counts = write_routes(tmp_path / "routing.jsonl", routes)
    assert counts == {"rule": 1, "pattern": 2}
    logged = [json.loads(line) for line in (tmp_path / "routing.jsonl").read_text().splitlines()]
    assert logged[2] == {
        "session_key": list(sessions[2].key),
        "adapter": "pattern",
        "relevance": {"pattern": None, "rule": None, "thought": None},
        "z": {"pattern": None, "rule": None, "thought": None},
    }


def test_an_adapter_key_changes_with_its_training_sample_and_kind(tmp_path: Path) -> None:
    study = _study(formats=[["pattern", "rule"]], utilization=["sft_routed"], ratio=[0.5])
    cell: Cell = expand(study)[0]
    train = load_sample().split("train")
    overrides = project_overrides(study, cell)

    def key(kinds: tuple[str, ...], sessions: list, **sample: object) -> dict:  # type: ignore[type-arg]
        config = load_config(overrides=adapter_overrides(overrides, tmp_path, kinds)).config
        return adapter_key(
            config, kb_dir=tmp_path, kinds=kinds, train=sessions, val=[], sample=sample
        )

    base = key(("pattern",), train[:6], ratio=0.5)
    assert base == key(("pattern",), train[:6], ratio=0.5)
    assert base != key(("pattern",), train[:5], ratio=0.5)  # another sample
    assert base != key(("pattern",), train[1:7], ratio=0.5)  # same size, other sessions
    assert base != key(("rule",), train[:6], ratio=0.5)  # another kind
    assert base["input"] == "knowledge"
    assert base["kb"] == tmp_path.name
    titles = key((), train[:6], ratio=0.5)
    assert titles["input"] == "titles"
    assert titles["kb"] is None


@pytest.mark.slow
def test_a_routed_cell_trains_its_adapters_and_generates_with_them(
    tmp_path: Path,
    tiny_model_dir: Path,  # noqa: F811
) -> None:
    from bundlekd.app.study.report import write_study_report
    from bundlekd.app.study.runner import run_study

    study = StudyConfig(
        name="routed",
        question="utilization",
        source="sample",
        domains=["electronic"],
        sample=2,
        teacher_limit=1,
        base={
            "sft.train.max_steps": 1,
            "sft.train.epochs": 1,
            "sft.train.eval_sessions": 1,
            "sft.train.batch_size": 4,
            "sft.train.device": "cpu",
            "generation.max_new_tokens": 24,
        },
        grid={  # type: ignore[arg-type]
            "student": ["llm"],
            "formats": [["pattern", "thought"]],
            "utilization": ["sft_routed"],
            "model": [f"hf:{tiny_model_dir}"],
        },
    )
    [result] = run_study(study, tmp_path / "run")
    cell_dir = tmp_path / "run" / "cells" / result["cell_id"]
    routes = [json.loads(x) for x in (cell_dir / "routing.jsonl").read_text().splitlines()]
    assert len(routes) == result["sessions"] == 2
    assert sum(result["routing"].values()) == 2
    assert set(result["routing"]) <= {"pattern", "thought"}
    # both adapters trained (one step each), val chose their epoch, the cost counts them
    assert set(result["chosen"]["sft_epoch"]["value"]) == {"pattern", "thought"}
    assert result["chosen"]["sft_epoch"]["chosen_on"] == "val"
    adapters = sorted((tmp_path / "run" / "artifacts" / "adapter").glob("*/artifact.json"))
    assert len(adapters) == 2
    assert result["cost"]["sft_train_s"] > 0
    assert result["cost"]["training_s"] >= result["cost"]["sft_train_s"]
    # the merged predictions are what was scored, next to the pair floor and clustering bar
    merged = (cell_dir / "predictions" / "icl.jsonl").read_text().splitlines()
    assert len(merged) == 2
    methods = [row["method"] for row in result["tables"]["electronic"]]
    assert methods[0] == "pair floor"
    assert {"icl", "cluster"} <= set(methods)
    again = run_study(study, tmp_path / "run")  # finished: read back, nothing re-run
    assert again[0]["cost"] == result["cost"]
    # the report has a row per adapter and says where the sessions went
    text = write_study_report([tmp_path / "run"], tmp_path / "report").read_text()
    adapters = text.split("### routed: SFT adapters")[1].split("###")[0]
    assert adapters.count("| llm:pattern+thought ") == 2
    assert "Routed sessions per adapter (standardised relevance" in text


@pytest.mark.slow
def test_an_sft_cell_can_fine_tune_every_weight(
    tmp_path: Path,
    tiny_model_dir: Path,  # noqa: F811
) -> None:
    from bundlekd.app.study.runner import run_study

    study = StudyConfig(
        name="full",
        source="sample",
        domains=["food"],
        sample=1,
        base={
            "sft.train.method": "full",
            "sft.train.max_steps": 1,
            "sft.train.epochs": 1,
            "sft.train.eval_sessions": 1,
            "sft.train.device": "cpu",
            "generation.max_new_tokens": 16,
        },
        grid={  # type: ignore[arg-type]
            "student": ["llm"],
            "formats": [[]],
            "utilization": ["sft"],
            "model": [f"hf:{tiny_model_dir}"],
        },
    )
    [result] = run_study(study, tmp_path / "run")
    config = (tmp_path / "run" / "cells" / result["cell_id"] / "config.yaml").read_text()
    [folder] = [
        p.parent for p in (tmp_path / "run" / "artifacts" / "adapter").glob("*/artifact.json")
    ]
    assert f"model: hf:{(folder / 'adapter').resolve()}" in config  # the whole model, no base
    assert result["arm"] == "zero_shot"
    assert result["sessions"] == 1
