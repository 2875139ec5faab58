"""Do two source trees predict the same bundles? `bundlekd generate` with each, one KB, compared.

    BUNDLEKD_DATA_DIR=../shared/data/bundles python benchmarks/check_same_predictions.py \
        --kb runs/kb --baseline-src ../main/src [--source aicl --split test] [--mode tool]

Runs `bundlekd generate --source S --split P --kb KB` once with `--baseline-src` first on the
path and once with this tree, into a temporary folder (the KB is only read), then compares per
(domain, session id) the `bundles`, `proposals` and `knowledge_ids` of the two outputs. Prints
how many sessions differ in each (and the first few), and each run's sessions/min; exits 1
when any bundle differs. A speed-up of the grouping tool must leave every bundle as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

FIELDS = ("bundles", "proposals", "knowledge_ids")


def _generate(src: str | None, args: argparse.Namespace, out: Path) -> float:
    env = {**os.environ, "BUNDLEKD_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    command = [sys.executable, "-m", "bundlekd", "generate", "--source", args.source]
    command += ["--split", args.split, "--kb", args.kb, "--mode", args.mode, "--out", str(out)]
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    return float(_find(manifest, "sessions_per_min") or 0.0)


def _find(data: Any, key: str) -> Any:
    """The first value of `key` anywhere in nested dicts (the manifest's layout may move)."""
    if isinstance(data, dict):
        if key in data:
            return data[key]
        for value in data.values():
            found = _find(value, key)
            if found is not None:
                return found
    return None


def _rows(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["domain"], r["session_id"]): r for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True)
    parser.add_argument("--baseline-src", required=True, help="The other tree's src/.")
    parser.add_argument("--source", default="aicl")
    parser.add_argument("--split", default="test")
    parser.add_argument("--mode", default="tool")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base_out, mine_out = Path(folder) / "baseline.jsonl", Path(folder) / "this.jsonl"
        base_speed = _generate(args.baseline_src, args, base_out)
        mine_speed = _generate(None, args, mine_out)
        base, mine = _rows(base_out), _rows(mine_out)
    print(f"sessions: baseline {len(base)}, this tree {len(mine)}")
    print(f"sessions/min: baseline {base_speed:.0f}, this tree {mine_speed:.0f}")
    differing = {}
    for field in FIELDS:
        keys = sorted(
            k for k in base.keys() | mine.keys() if _get(base, k, field) != _get(mine, k, field)
        )
        differing[field] = keys
        print(f"{field} differing: {len(keys)} {keys[:5]}")
    sys.exit(1 if differing["bundles"] or base.keys() != mine.keys() else 0)


def _get(rows: dict[tuple[str, str], dict[str, Any]], key: tuple[str, str], field: str) -> str:
    return json.dumps(rows.get(key, {}).get(field), sort_keys=True)


if __name__ == "__main__":
    main()
