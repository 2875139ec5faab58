"""The project configuration: typed sections, read as defaults < YAML < environment < CLI.

Each subpackage owns its section next to the code it configures; this module only composes
them and applies precedence. `load_config` also records where every value came from, for
`bundlekd config show` and for the resolved config each run writes beside its outputs.

Environment variables are `BUNDLEKD_<SECTION>__<FIELD>` (e.g. `BUNDLEKD_STUDENT__MODEL`), plus
the older short names `BUNDLEKD_DATA_DIR` and `BUNDLEKD_NUM_THREADS`. Secrets (API keys) are
never configuration: backends read them from the environment variable they name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bundlekd.agent.config import AgentConfig
from bundlekd.data.config import DataConfig
from bundlekd.errors import ConfigError
from bundlekd.eval.evaluator import EvalConfig
from bundlekd.finetune.sft_config import SFTConfig
from bundlekd.knowledge_base.config import DistillConfig, KBConfig, RetrievalConfig
from bundlekd.llm.config import EmbedderConfig, LLMConfig, TeacherConfig

ENV_PREFIX = "BUNDLEKD_"
CONFIG_FILE_ENV = "BUNDLEKD_CONFIG"
# Short names that predate the sections; they keep working.
LEGACY_ENV: dict[str, str] = {
    "BUNDLEKD_DATA_DIR": "data.dir",
    "BUNDLEKD_NUM_THREADS": "student.threads",
}
DEFAULT = "default"


class ProjectConfig(BaseSettings):
    """Every setting of a run, one section per concern."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data: DataConfig = Field(default_factory=DataConfig, description="Sessions to read.")
    student: LLMConfig = Field(default_factory=LLMConfig, description="The student model.")
    teacher: TeacherConfig = Field(default_factory=TeacherConfig, description="The teacher.")
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig, description="Embedder.")
    kb: KBConfig = Field(default_factory=KBConfig, description="The knowledge base.")
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig, description="Retrieval.")
    distill: DistillConfig = Field(default_factory=DistillConfig, description="Distillation.")
    generation: AgentConfig = Field(default_factory=AgentConfig, description="The agent.")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="Scoring.")
    sft: SFTConfig = Field(default_factory=SFTConfig, description="Fine-tuning the student.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `load_config` reads and merges the layers itself (it must know which layer set what),
        # so the model only validates what it is given.
        return (init_settings,)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration plus where each value came from."""

    config: ProjectConfig
    sources: dict[str, str] = field(default_factory=dict)  # dotted key -> default/file/env/cli
    config_file: Path | None = None

    def rows(self) -> Iterator[tuple[str, Any, str]]:
        """(dotted key, value, source) for every leaf setting, in section order."""
        for key, value in flatten(self.config.model_dump(mode="json")).items():
            yield key, value, self.sources.get(key, DEFAULT)

    def to_yaml(self) -> str:
        """The resolved configuration as YAML (loadable with `--config`)."""
        import yaml

        return yaml.safe_dump(self.config.model_dump(mode="json"), sort_keys=False)


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists and scalars are leaves."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """{"a.b": 1} -> {"a": {"b": 1}}."""
    tree: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _yaml_layer(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    return data


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    from pydantic_settings import EnvSettingsSource

    source = EnvSettingsSource(
        ProjectConfig,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        case_sensitive=False,
    )
    source.env_vars = {k.lower(): v for k, v in environ.items()}  # read this mapping, not os
    layer = {k: v for k, v in source().items() if k in ProjectConfig.model_fields}
    flat = flatten(layer)
    for name, dotted in LEGACY_ENV.items():
        value = environ.get(name, "").strip()
        if value and dotted not in flat:
            flat[dotted] = value
    return unflatten(flat)


def _describe(exc: ValidationError, sources: Mapping[str, str]) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        origin = sources.get(key, DEFAULT)
        hint = ""
        if error["type"] == "extra_forbidden":
            hint = " (unknown setting; secrets such as API keys come only from the environment)"
        problems.append(f"{key}: {error['msg']}{hint} [from {origin}]")
    return "invalid configuration: " + "; ".join(problems)


def load_config(
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Defaults < YAML file < `BUNDLEKD_*` environment < `overrides` (CLI flags, dotted keys).

    Args:
        config_file: A YAML file of sections; default `$BUNDLEKD_CONFIG` when set.
        overrides: Dotted keys to values, e.g. {"student.model": "hf:/m"}; None values are
            ignored (a flag that was not given).
        environ: The environment to read (default `os.environ`).

    Raises:
        ConfigError: Missing or malformed file, or a value that fails validation (the message
            names the key and the layer it came from).
    """
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get(CONFIG_FILE_ENV, "").strip():
        config_file = environ[CONFIG_FILE_ENV].strip()
    path = Path(config_file).expanduser() if config_file else None
    layers: list[tuple[str, dict[str, Any]]] = []
    if path is not None:
        layers.append((f"file:{path}", _yaml_layer(path)))
    layers.append(("env", _env_layer(environ)))
    cli = {k: v for k, v in (overrides or {}).items() if v is not None}
    layers.append(("cli", unflatten(cli)))

    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for label, layer in layers:
        merged = _merge(merged, layer)
        for key in flatten(layer):
            sources[key] = label
    try:
        config = ProjectConfig(**merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None
    return LoadedConfig(config=config, sources=sources, config_file=path)


def write_resolved_config(loaded: LoadedConfig, path: str | Path) -> Path:
    """Write the resolved configuration (YAML) beside a run's outputs, atomically."""
    from bundlekd.files import atomic_write_text

    header = "# bundlekd resolved configuration (re-run with --config this-file)\n"
    atomic_write_text(Path(path), header + loaded.to_yaml())
    return Path(path)
