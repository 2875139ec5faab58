"""Config errors name their true source; list env vars take the comma form (issue 16.9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bundlekd.config import load_config
from bundlekd.errors import ConfigError


def test_a_comma_list_in_the_environment_is_accepted() -> None:
    loaded = load_config(environ={"BUNDLEKD_DISTILL__KINDS": "pattern, rule"})
    assert loaded.config.distill.kinds == ("pattern", "rule")
    assert loaded.sources["distill.kinds"] == "env"
    as_json = load_config(environ={"BUNDLEKD_DISTILL__KINDS": '["thought"]'})
    assert as_json.config.distill.kinds == ("thought",)


def test_broken_json_in_the_environment_is_one_line_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"BUNDLEKD_DISTILL__KINDS": '["pattern"'})
    message = str(caught.value)
    assert "BUNDLEKD_DISTILL__KINDS" in message
    assert "a,b" in message
    assert "\n" not in message


def test_config_show_with_a_comma_list_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from bundlekd.cli import app

    monkeypatch.setenv("BUNDLEKD_DISTILL__KINDS", "pattern,rule")
    result = CliRunner().invoke(app, ["config", "show", "--format", "yaml"])
    assert result.exit_code == 0, result.output
    assert "- pattern\n  - rule" in result.stdout


def test_a_yaml_typo_is_reported_as_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("studnet:\n  model: smollm2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert f"[from file:{path}]" in str(caught.value)
    assert "[from default]" not in str(caught.value)


def test_a_yaml_section_of_the_wrong_type_is_never_dropped(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("student: smollm2\n")
    for environ in ({"BUNDLEKD_STUDENT__THREADS": "2"}, {}):
        with pytest.raises(ConfigError) as caught:
            load_config(path, environ=environ)
        assert str(path) in str(caught.value)
        assert "'student'" in str(caught.value)
    # And the other way round: the environment sets a section the file fills with settings.
    path.write_text("student:\n  threads: 2\n")
    with pytest.raises(ConfigError, match=r"BUNDLEKD_STUDENT: a list setting"):
        load_config(path, environ={"BUNDLEKD_STUDENT": "smollm2"})
