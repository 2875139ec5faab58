"""JSON-schema constrained decoding for transformers models, through xgrammar.

One `JsonSchemaConstrainer` per (tokenizer, model): it compiles each schema once and hands out a
fresh logits processor per `generate()` call (xgrammar's processor holds per-call matcher state
and asserts when reused). Without xgrammar, generation falls back to unconstrained decoding.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

from bundlekd.errors import ConfigError

logger = logging.getLogger(__name__)

_warned_missing = False


def xgrammar_available() -> bool:
    """Whether xgrammar can be imported (checked without importing it)."""
    return importlib.util.find_spec("xgrammar") is not None


def schema_key(schema: dict[str, Any] | None) -> str:
    """Compact JSON text of a schema: the compile-cache and grouping key ("" for no schema).

    Key order is kept on purpose: the order of `properties` is the order the grammar emits
    the fields in (e.g. a "thought" before the "bundles"), so reordered schemas differ.
    """
    if schema is None:
        return ""
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


def _warn_missing(reason: str) -> None:
    global _warned_missing
    if not _warned_missing:
        logger.warning("json_schema ignored, decoding unconstrained: %s", reason)
        _warned_missing = True


class JsonSchemaConstrainer:
    """Compiles JSON schemas for one tokenizer and builds xgrammar logits processors.

    Args:
        tokenizer: the HF tokenizer of the model.
        vocab_size: the model's (possibly padded) vocabulary size, `model.config.vocab_size`.
        stop_token_ids: the token ids that end generation; the grammar allows them at the end.
        max_threads: compiler threads (keep small on a shared CPU).
    """

    def __init__(
        self,
        tokenizer: Any,
        vocab_size: int,
        stop_token_ids: Sequence[int] | None = None,
        max_threads: int = 2,
    ) -> None:
        self._tokenizer = tokenizer
        self._vocab_size = vocab_size
        self._stop_token_ids = list(stop_token_ids) if stop_token_ids else None
        self._max_threads = max(1, max_threads)
        self._compiler: Any = None
        self._compiled: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.available = xgrammar_available()

    def _get_compiler(self) -> Any:
        if self._compiler is None:
            import xgrammar as xgr

            info = xgr.TokenizerInfo.from_huggingface(
                self._tokenizer, vocab_size=self._vocab_size, stop_token_ids=self._stop_token_ids
            )
            self._compiler = xgr.GrammarCompiler(info, max_threads=self._max_threads)
        return self._compiler

    def compile(self, schema: dict[str, Any]) -> Any:
        """The compiled grammar for `schema` (compiled on first use, then cached).

        Raises:
            ConfigError: the schema is not one xgrammar can compile.
        """
        key = schema_key(schema)
        with self._lock:
            if key not in self._compiled:
                compiler = self._get_compiler()
                try:
                    # any_whitespace=False: no free whitespace for a weak model to loop on.
                    compiled = compiler.compile_json_schema(key, any_whitespace=False)
                except (RuntimeError, ValueError) as exc:
                    raise ConfigError(f"json_schema cannot be compiled: {exc}") from exc
                self._compiled[key] = compiled
            return self._compiled[key]

    def logits_processor(
        self, schema: dict[str, Any] | Sequence[dict[str, Any] | None] | None
    ) -> Any | None:
        """A new processor for one `generate()` call: one schema for every row, or one per row.

        Returns None (unconstrained) when there is no schema or xgrammar cannot be imported.
        Per-row schemas must be all present or all None (callers group by that).
        """
        schemas: list[dict[str, Any] | None] = (
            [schema] if schema is None or isinstance(schema, dict) else list(schema)
        )
        if any(s is None for s in schemas):
            if not all(s is None for s in schemas):
                raise ValueError("a batch mixes constrained and unconstrained rows")
            return None
        if not self.available:
            _warn_missing("xgrammar is not installed (pip install --no-deps xgrammar==0.2.8)")
            return None
        try:
            from xgrammar.contrib.hf import LogitsProcessor
        except ImportError as exc:
            self.available = False
            _warn_missing(f"xgrammar failed to import: {exc}")
            return None
        compiled = [self.compile(s) for s in schemas if s is not None]
        return LogitsProcessor(compiled if len(compiled) > 1 else compiled[0])
