"""Regenerate docs/cli.md, the reference of every `bundlekd` command, from the typer app.

It runs typer's own Markdown generator (`python -m typer bundlekd.cli utils docs`) on the
`bundlekd` package of this checkout, so the page can never describe another version of the CLI.
tests/test_cli_docs.py fails when the committed page is stale.

    python scripts/gen_cli_docs.py               # rewrite docs/cli.md
    python scripts/gen_cli_docs.py --output X.md  # write elsewhere (the staleness test does)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "cli.md"


def generate(output: Path) -> None:
    """Write the Markdown reference of the `bundlekd` CLI to `output`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # This checkout's package first, whatever the environment has installed.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
    )
    command = [sys.executable, "-m", "typer", "bundlekd.cli", "utils", "docs"]
    command += ["--name", "bundlekd", "--output", str(output)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"typer's doc generator failed:\n{result.stderr.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file.")
    args = parser.parse_args()
    generate(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
