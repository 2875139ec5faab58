"""Versioned prompt templates (package data), rendered strictly.

`render(name, **vars)` returns the text and a version (first 12 hex chars of the template's
sha256). The version goes into cache keys and knowledge provenance (and adapter cards, once
fine-tuning exists).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class Prompt:
    text: str
    name: str
    version: str


@cache
def _template_source(name: str) -> str:
    path = resources.files("bundlekd.prompts") / f"{name}.jinja"
    if not path.is_file():
        raise KeyError(f"unknown prompt template {name!r}")
    return path.read_text(encoding="utf-8")


def template_version(name: str) -> str:
    return hashlib.sha256(_template_source(name).encode("utf-8")).hexdigest()[:12]


def render(name: str, **variables: Any) -> Prompt:
    """Render `prompts/<name>.jinja`; a missing variable is an error, not an empty string."""
    from jinja2 import Environment, StrictUndefined

    env = Environment(undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False)
    text = env.from_string(_template_source(name)).render(**variables).strip()
    return Prompt(text=text, name=name, version=template_version(name))
