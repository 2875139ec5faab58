"""The typed configuration: precedence, provenance, validation, `config show`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bundlekd.config import load_config
from bundlekd.errors import ConfigError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_is_defaults_file_env_cli(tmp_path: Path) -> None:
    config_file = _write(
        tmp_path / "c.yaml",
        "student:\n  model: hf:/from-file\n  threads: 3\ngeneration:\n  top_k: 7\n  mode: icl\n",
    )
    environ = {"BUNDLEKD_STUDENT__THREADS": "2", "BUNDLEKD_GENERATION__TOP_K": "5"}
    loaded = load_config(config_file, {"generation.top_k": 4}, environ=environ)
    config = loaded.config
    assert config.student.model == "hf:/from-file"  # file beats default
    assert config.student.threads == 2  # env beats file
    assert config.generation.top_k == 4  # cli beats env
    assert config.generation.mode == "icl"
    assert config.data.source == "sample"  # untouched default
    sources = {key: source for key, _, source in loaded.rows()}
    assert sources["student.model"] == f"file:{config_file}"
    assert sources["student.threads"] == "env"
    assert sources["generation.top_k"] == "cli"
    assert sources["data.source"] == "default"


def test_legacy_env_names_and_none_overrides(tmp_path: Path) -> None:
    environ = {"BUNDLEKD_DATA_DIR": str(tmp_path), "BUNDLEKD_NUM_THREADS": "1"}
    loaded = load_config(None, {"student.model": None}, environ=environ)
    assert loaded.config.data.dir == tmp_path
    assert loaded.config.student.threads == 1
    assert loaded.config.student.model == "smollm2"  # a None flag leaves the value alone


def test_config_file_from_env_variable(tmp_path: Path) -> None:
    config_file = _write(tmp_path / "c.yaml", "embedder:\n  name: hashing\n")
    loaded = load_config(environ={"BUNDLEKD_CONFIG": str(config_file)})
    assert loaded.config.embedder.name == "hashing"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "student:\n  api_key: sk-123\n",
            "secrets such as API keys come only from the environment",
        ),
        ("generation:\n  top_k: many\n", "generation.top_k"),
        ("student: [1, 2\n", "invalid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("nonsense:\n  x: 1\n", "nonsense"),
    ],
)
def test_bad_files_are_config_errors_naming_the_key_and_layer(
    tmp_path: Path, text: str, message: str
) -> None:
    config_file = _write(tmp_path / "c.yaml", text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_config(config_file, environ={})


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml", environ={})
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("student:\n  model: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(latin, environ={})


def test_resolved_yaml_round_trips(tmp_path: Path) -> None:
    loaded = load_config(
        None, {"generation.mode": "zero_shot", "data.domains": ["food"]}, environ={}
    )
    again = load_config(_write(tmp_path / "r.yaml", loaded.to_yaml()), environ={})
    assert again.config == loaded.config


def test_config_show_lists_values_and_sources(tmp_path: Path, monkeypatch) -> None:
    from bundlekd.cli import app

    monkeypatch.setenv("BUNDLEKD_GENERATION__TOP_K", "6")
    config_file = _write(tmp_path / "c.yaml", "student:\n  model: hf:/m\n")
    result = CliRunner().invoke(app, ["--config", str(config_file), "config", "show"])
    assert result.exit_code == 0, result.output
    assert "generation.top_k" in result.output
    assert "env" in result.output
    as_yaml = CliRunner().invoke(
        app, ["--config", str(config_file), "config", "show", "--format", "yaml"]
    )
    assert as_yaml.exit_code == 0, as_yaml.output
    parsed = yaml.safe_load(as_yaml.output)
    assert parsed["student"]["model"] == "hf:/m"
    assert parsed["generation"]["top_k"] == 6
