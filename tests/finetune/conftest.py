"""Fixtures for the fine-tuning tests."""

from __future__ import annotations

from fixtures.tiny_model import tiny_model_dir  # noqa: F401  (re-exported fixture)
