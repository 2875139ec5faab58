"""bundlekd.llm: chat backends behind one batch-first interface (`LLM.generate`).

`llm/` knows messages and tokens, never sessions or bundles. Importing this package imports
no ML library; the backend classes below are loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from bundlekd.llm.base import LLM, ChatRequest, Completion, Message, Sampling
from bundlekd.llm.cache import CachingLLM
from bundlekd.llm.fake import ScriptedLLM
from bundlekd.llm.registry import get_llm, list_backends, register_backend

_LAZY = {
    "TransformersLLM": "bundlekd.llm.transformers_local",
    "OpenAICompatLLM": "bundlekd.llm.openai_compat",
    "LangChainLLM": "bundlekd.llm.langchain_chat",
    "ensure_default_model": "bundlekd.llm.model_store",
    "default_model_dir": "bundlekd.llm.model_store",
}

__all__ = [
    "LLM",
    "CachingLLM",
    "ChatRequest",
    "Completion",
    "LangChainLLM",
    "Message",
    "OpenAICompatLLM",
    "Sampling",
    "ScriptedLLM",
    "TransformersLLM",
    "default_model_dir",
    "ensure_default_model",
    "get_llm",
    "list_backends",
    "register_backend",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bundlekd.llm' has no attribute {name!r}")
