"""Distillation: training sessions -> knowledge candidates (patterns, rules, thoughts)."""

from bundlekd.knowledge_base.distill.runner import DistillReport, check_leakage, distill

__all__ = ["DistillReport", "check_leakage", "distill"]
