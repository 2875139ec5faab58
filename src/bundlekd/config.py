"""The project configuration: typed sections, read as defaults < YAML < environment < CLI.

Each subpackage owns its section next to the code it configures; this module only composes
them and applies precedence. `load_config` also records where every value came from, for
`bundlekd config show` and for the resolved config each run writes beside its outputs.

Environment variables are `BUNDLEKD_<SECTION>__<FIELD>` (e.g. `BUNDLEKD_STUDENT__MODEL`), plus
the older short names `BUNDLEKD_DATA_DIR` and `BUNDLEKD_NUM_THREADS`. A list setting is written
`a,b` or as JSON (`BUNDLEKD_DISTILL__KINDS=pattern,rule` or `'["pattern", "rule"]'`).
Secrets (API keys) are never configuration: backends read them from the environment variable
they name; a key pasted into a model URL is redacted wherever the configuration is shown.
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
from bundlekd.sanitize import redact, redact_tree

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
        for key, value in flatten(self.dump()).items():
            yield key, value, redact(self.sources.get(key, DEFAULT))

    def dump(self) -> dict[str, Any]:
        """The settings as JSON-able data, credentials in URLs redacted (for files and screens)."""
        return redact_tree(self.config.model_dump(mode="json"))  # type: ignore[no-any-return]

    def to_yaml(self) -> str:
        """The resolved configuration as YAML (loadable with `--config`)."""
        import yaml

        return yaml.safe_dump(self.dump(), sort_keys=False)


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
    data = {k: v for k, v in data.items() if v is not None}  # `student:` alone: an empty section
    for section, value in data.items():
        if section in ProjectConfig.model_fields and not isinstance(value, dict):
            raise ConfigError(
                f"{path}: section {section!r} must be a mapping of settings (key: value), "
                f"got {type(value).__name__} {value!r}"
            )
    return data


def _is_list_field(section: str, name: str) -> bool:
    """Whether `section.name` holds a list or tuple (written `a,b` or as JSON in the env)."""
    import typing

    outer = ProjectConfig.model_fields.get(section)
    inner = getattr(outer.annotation, "model_fields", {}).get(name) if outer else None
    if inner is None:
        return False
    kinds = [inner.annotation, *typing.get_args(inner.annotation)]
    return any(typing.get_origin(k) in (list, tuple, set, frozenset) for k in kinds)


def _list_values_as_json(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment, lower-cased, with comma lists (`BUNDLEKD_DISTILL__KINDS=pattern,rule`)
    of list-valued settings rewritten as the JSON pydantic-settings reads."""
    import json

    out = {}
    for key, value in environ.items():
        lowered = key.lower()
        parts = lowered[len(ENV_PREFIX) :].split("__") if lowered.startswith("bundlekd_") else []
        if len(parts) == 2 and _is_list_field(*parts) and not value.strip().startswith("["):
            value = json.dumps([v.strip() for v in value.split(",") if v.strip()])
        out[lowered] = value
    return out


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    from pydantic_settings import EnvSettingsSource, SettingsError

    source = EnvSettingsSource(
        ProjectConfig,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        case_sensitive=False,
    )
    source.env_vars = _list_values_as_json(environ)  # read this mapping, not os
    try:
        read = source()
    except SettingsError as exc:  # e.g. a list written as broken JSON: name the variables
        import re

        found = re.search(r'field "([^"]+)"', str(exc))
        section = f"{ENV_PREFIX}{found.group(1) if found else ''}".upper()
        names = sorted(k for k in environ if k.upper().startswith(section))
        raise ConfigError(
            f"unreadable environment variable {' / '.join(names) or section}: a list setting "
            'is written a,b or as JSON ["a", "b"], a whole section as JSON {"key": value}'
        ) from None
    layer = {k: v for k, v in read.items() if k in ProjectConfig.model_fields}
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
        origin = _origin(key, sources)
        hint = ""
        if error["type"] == "extra_forbidden":
            hint = " (unknown setting; secrets such as API keys come only from the environment)"
        problems.append(f"{key}: {error['msg']}{hint} [from {origin}]")
    return "invalid configuration: " + "; ".join(problems)


def _origin(key: str, sources: Mapping[str, str]) -> str:
    """The layer that set `key`, a setting inside it (`studnet` from `studnet.model` in a
    YAML file) or the section around it; "default" only when no layer touched any of them."""
    if key in sources:
        return sources[key]
    inside = sorted({label for dotted, label in sources.items() if dotted.startswith(key + ".")})
    if inside:
        return ", ".join(inside)
    parts = key.split(".")
    for end in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:end])
        if parent in sources:
            return sources[parent]
    return DEFAULT


def _check_sections(
    merged: Mapping[str, Any],
    layer: Mapping[str, Any],
    label: str,
    sources: Mapping[str, str],
    prefix: str = "",
) -> None:
    """A section that one layer sets to a plain value and another fills with settings is an
    error naming both, never one silently replacing the other."""
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            _check_sections(below, value, label, sources, dotted + ".")
        elif key in merged and isinstance(value, Mapping) != isinstance(below, Mapping):
            plain, plain_from = (
                (below, sources.get(dotted, DEFAULT))
                if isinstance(value, Mapping)
                else (value, label)
            )
            raise ConfigError(
                f"invalid configuration: {dotted} must be a section of settings (key: value), "
                f"got {type(plain).__name__} {plain!r} [from {plain_from}]"
            )


def load_config(
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides_from: str = "cli",
) -> LoadedConfig:
    """Defaults < YAML file < `BUNDLEKD_*` environment < `overrides` (CLI flags, dotted keys).

    Args:
        config_file: A YAML file of sections; default `$BUNDLEKD_CONFIG` when set.
        overrides: Dotted keys to values, e.g. {"student.model": "hf:/m"}; None values are
            ignored (a flag that was not given).
        environ: The environment to read (default `os.environ`).
        overrides_from: Where `overrides` came from, as errors and `config show` name it
            (e.g. "grid configs/x.yaml" when a study grid sets them, not flags).

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
    layers.append((overrides_from, unflatten(cli)))

    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for label, layer in layers:
        _check_sections(merged, layer, label, sources)
        merged = _merge(merged, layer)
        for key in flatten(layer):
            sources[key] = label
    try:
        config = ProjectConfig(**merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None
    return LoadedConfig(config=config, sources=sources, config_file=path)


def unknown_list_values(config: ProjectConfig) -> list[str]:
    """Values of the free-form list settings that no part of bundlekd knows, one line each
    (`distill.kinds: unknown 'bogus' (known: ...)`): they validate as strings and are only
    refused by the command that reads them, so `config show` says so up front."""
    from bundlekd.knowledge_base.grouping.features import FEATURE_GROUPS
    from bundlekd.knowledge_base.store.items import KINDS

    known = {"distill.kinds": tuple(KINDS), "kb.tool_features": tuple(FEATURE_GROUPS)}
    values = flatten(config.model_dump(mode="json"))
    lines = []
    for key, allowed in known.items():
        unknown = [v for v in values.get(key) or () if v not in allowed]
        if unknown:
            names = ", ".join(repr(v) for v in unknown)
            lines.append(f"{key}: unknown {names} (known: {', '.join(allowed)})")
    return lines


def write_resolved_config(loaded: LoadedConfig, path: str | Path) -> Path:
    """Write the resolved configuration (YAML) beside a run's outputs, atomically."""
    from bundlekd.files import atomic_write_text

    header = "# bundlekd resolved configuration (re-run with --config this-file)\n"
    atomic_write_text(Path(path), header + loaded.to_yaml())
    return Path(path)
