"""Run a benchmark's measurement in a child process on a chosen source tree.

A before/after benchmark measures `child(spec)` of its own script twice: once with another
tree's `src/` first on PYTHONPATH (the baseline), once with this tree. Each child runs with one
thread, so the two are timed alike in one run on one machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_in_tree(script: str | Path, spec: dict[str, Any], src: str | None) -> dict[str, Any]:
    """`child(spec)` of `script` in a fresh 1-thread process (`src`: another tree's src/)."""
    env = {**os.environ, "BUNDLEKD_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env["OPENBLAS_NUM_THREADS"] = "1"
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    here = Path(script).resolve()
    code = (
        "import importlib.util, json, sys; "
        f"sys.path.insert(0, {str(here.parent)!r}); "
        f"spec = importlib.util.spec_from_file_location({here.stem!r}, {str(here)!r}); "
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod); "
        "print(json.dumps(mod.child(json.loads(sys.argv[1]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(spec)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def cpu_label() -> str:
    """The CPU in one line (`cpu_summary`), or why it is unknown."""
    try:
        from bundlekd.llm.precision import cpu_summary

        return cpu_summary()
    except Exception as exc:  # a missing torch must not stop a numpy benchmark
        return f"CPU unknown ({exc})"
