"""Backends by name: `get_llm("smollm2")`, `get_llm("openai:MODEL@http://host:8000/v1")`.

Spec strings:
- "smollm2" (default): the converted SmolLM2-135M-Instruct on transformers;
- "hf:PATH": any HF model folder on transformers;
- "...+adapter:DIR" (or the `adapter=` option): a PEFT adapter on a local model;
- "openai:MODEL@BASE_URL" or "openai:MODEL" (base URL from $BUNDLEKD_BASE_URL);
- "langchain" with the option `chat_model=` (an object, so never from a config string);
- "NAME" or "NAME:ARG" for third-party backends registered under the entry-point group
  "bundlekd.llm" (`NAME = "package.module:Class"`); they are called as `Class(ARG, **options)`.

Backends are registered as "module:Class" strings and imported only when used, so naming
one never imports torch.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from typing import Any

from bundlekd.errors import ConfigError
from bundlekd.llm.base import LLM

logger = logging.getLogger(__name__)

DEFAULT_SPEC = "smollm2"
ENTRY_POINT_GROUP = "bundlekd.llm"
_ADAPTER_MARK = "+adapter:"

_BUILTINS: dict[str, str] = {
    "smollm2": "bundlekd.llm.transformers_local:TransformersLLM",
    "hf": "bundlekd.llm.transformers_local:TransformersLLM",
    "openai": "bundlekd.llm.openai_compat:OpenAICompatLLM",
    "langchain": "bundlekd.llm.langchain_chat:LangChainLLM",
}
_LOCAL = {"smollm2", "hf"}

_registry: dict[str, str] = {}
_entry_points_loaded = False


def register_backend(name: str, target: str) -> None:
    """Register `target` ("module:Class") under `name`.

    Raises:
        ConfigError: the name is taken or the target is not "module:Class".
    """
    _load_entry_points()
    _add(name, target)


def _add(name: str, target: str) -> None:
    if not name or ":" in name or "+" in name:
        raise ConfigError(f"backend name {name!r} must be non-empty without ':' or '+'")
    module, _, attribute = target.partition(":")
    if not module or not attribute:
        raise ConfigError(f"backend {name!r}: target {target!r} is not 'module:Class'")
    if name in _BUILTINS or name in _registry:
        existing = _BUILTINS.get(name) or _registry[name]
        raise ConfigError(f"backend name {name!r} is taken by {existing}; refusing {target}")
    _registry[name] = target


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            _add(entry.name, entry.value)
        except ConfigError as exc:  # one broken plugin must not break every backend
            logger.warning("entry point %s ignored: %s", entry.name, exc)


def list_backends() -> dict[str, str]:
    """Every known backend name and its "module:Class" target (nothing is imported)."""
    _load_entry_points()
    return {**_BUILTINS, **_registry}


def is_local_spec(spec: str) -> bool:
    """Whether `spec` names an in-process transformers backend (takes num_threads etc.)."""
    name = (spec or DEFAULT_SPEC).partition(_ADAPTER_MARK)[0].partition(":")[0]
    return name in _LOCAL


def _resolve(name: str) -> type[LLM]:
    backends = list_backends()
    if name not in backends:
        raise ConfigError(f"unknown LLM backend {name!r}; known: {', '.join(sorted(backends))}")
    module_name, _, attribute = backends[name].partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"backend {name!r} ({backends[name]}) cannot be loaded: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, LLM)):
        raise ConfigError(f"backend {name!r}: {backends[name]} is not an LLM subclass")
    return cls


def get_llm(spec: str = DEFAULT_SPEC, **options: Any) -> LLM:
    """Build the backend a spec string names (see the module docstring).

    Args:
        spec: the spec string; "" means the default.
        **options: constructor options, e.g. num_threads=2, batch_size=4, adapter=DIR,
            concurrency=8, base_url=..., chat_model=....

    Raises:
        ConfigError: unknown backend, malformed spec, or options the backend refuses.
    """
    spec = (spec or DEFAULT_SPEC).strip()
    if _ADAPTER_MARK in spec:
        spec, _, adapter = spec.partition(_ADAPTER_MARK)
        if not adapter:
            raise ConfigError(f"empty adapter in LLM spec {spec + _ADAPTER_MARK!r}")
        if options.get("adapter") not in (None, adapter):
            raise ConfigError(f"two adapters given: {adapter!r} and {options['adapter']!r}")
        options["adapter"] = adapter
    name, _, argument = spec.partition(":")
    cls = _resolve(name)
    if options.get("adapter") and name not in _LOCAL and not cls.supports_adapters:
        raise ConfigError(f"backend {name!r} does not take adapters")
    args: tuple[Any, ...] = ()
    if name == "smollm2":
        if argument:
            raise ConfigError(f"'smollm2' takes no argument, got {spec!r} (use hf:PATH)")
    elif name == "hf":
        if not argument:
            raise ConfigError("'hf:' needs a model folder, e.g. hf:/models/my-model")
        args = (argument,)
    elif name == "openai":
        model, _, base_url = argument.partition("@")
        if not model:
            raise ConfigError(f"expected openai:MODEL@BASE_URL, got {spec!r}")
        if "adapter" in options:  # vLLM serves each LoRA under its own model name
            model = options.pop("adapter")
        if base_url:
            options.setdefault("base_url", base_url)
        args = (model,)
    elif argument:
        args = (argument,)
    try:
        return cls(*args, **options)
    except TypeError as exc:
        raise ConfigError(
            f"backend {name!r} rejected the options {sorted(options)}: {exc}"
        ) from exc
