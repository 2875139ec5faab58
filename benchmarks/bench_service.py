"""Load on a real `bundlekd serve` process: p50/p99 latency and requests/s at 1 and at N
concurrent clients, one session per request, tool mode, loopback.

    python benchmarks/bench_service.py --kb runs/kb                       # 1 and 200 clients x 60 s
    python benchmarks/bench_service.py --kb runs/kb --clients 1,20 --seconds 10

Starts `bundlekd serve --kb KB` on a free port (1 torch thread), waits for /ready, then runs
`bundlekd.app.service.loadgen.run_load` once per client count with a real test session (the
shipped sample's first electronic test session, or the AICL one when BUNDLEKD_DATA_DIR is set).
Without --kb it builds the tiny sample KB (hashing embedder) in a temp folder. Prints one row per
client count and the server's /metrics batch histogram; the goal is p99 <= 50 ms at 1 client.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bundlekd.app.service.loadgen import run_load, wait_ready
from bundlekd.data.sources import load_sessions


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sample_kb(folder: Path) -> Path:
    from bundlekd.app.tool_fitting import fit_tool
    from bundlekd.data.sources import load_sample
    from bundlekd.knowledge_base.distill.runner import distill
    from bundlekd.knowledge_base.kb import KnowledgeBase

    kb_dir = folder / "kb"
    dataset = load_sample()
    kb = KnowledgeBase.create(kb_dir, embedder="hashing", index="numpy")
    distill(dataset.split("train"), kinds=["exemplar"], kb_dir=kb_dir, kb=kb)
    fit_tool(kb, dataset.split("train"), dataset.split("val"), kb.embedder)
    return kb_dir


def _session() -> dict[str, object]:
    source = "aicl" if os.environ.get("BUNDLEKD_DATA_DIR") else "sample"
    session = load_sessions(source, domains=["electronic"], split="test")[0]
    items = [{"item_id": i.item_id, "title": i.title} for i in session.items]
    return {"session_id": session.session_id, "domain": session.domain, "items": items}


def _route_buckets(metrics: str, route: str = "/v1/bundles") -> dict[float, float]:
    """Cumulative counts of the service's latency histogram for one route, by upper bound."""
    buckets = {}
    for line in metrics.splitlines():
        if line.startswith("bundlekd_request_seconds_bucket{") and f'route="{route}"' in line:
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float(bound)] = float(line.rsplit(" ", 1)[1])
    return buckets


def _server_quantile(before: dict[float, float], after: dict[float, float], q: float) -> str:
    """The histogram bucket (upper bound, ms) holding quantile q of the requests in between."""
    counts = {b: after.get(b, 0.0) - before.get(b, 0.0) for b in after}
    total = counts.get(float("inf"), 0.0)
    if not total:
        return "-"
    for bound in sorted(counts):
        if counts[bound] >= q * total:
            return "inf" if bound == float("inf") else f"<={1000 * bound:g}"
    return "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, help="KB folder (default: the tiny sample KB).")
    parser.add_argument("--clients", default="1,200", help="Client counts, comma-separated.")
    parser.add_argument("--seconds", type=float, default=60.0, help="Duration per count.")
    parser.add_argument("--max-queue", type=int, default=256, help="Service queue bound.")
    parser.add_argument("--save", type=Path, help="Write the rows as JSON here.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        kb_dir = args.kb or _sample_kb(Path(tmp))
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "BUNDLEKD_NUM_THREADS": "1"}
        # the service refuses a queue smaller than its largest request (max_sessions, 64)
        env.setdefault("BUNDLEKD_SERVE_MAX_SESSIONS", str(min(64, args.max_queue)))
        command = [sys.executable, "-m", "bundlekd", "serve", "--kb", str(kb_dir)]
        command += ["--port", str(port), "--log-level", "warning"]
        command += ["--max-queue", str(args.max_queue)]
        started = time.perf_counter()
        server = subprocess.Popen(command, env=env)
        try:
            wait_ready(url, server, timeout_s=600)
            print(f"ready after {time.perf_counter() - started:.1f} s ({kb_dir})")
            body = {"session": _session()}
            rows = []
            for clients in [int(c) for c in args.clients.split(",")]:
                before = _route_buckets(httpx.get(f"{url}/metrics", timeout=30).text)
                report = run_load(url, body, clients=clients, seconds=args.seconds)
                after = _route_buckets(httpx.get(f"{url}/metrics", timeout=30).text)
                row = report.summary()
                # in-service time (routing, queue, tool, response), from the service's histogram
                row["service_p50_ms"] = _server_quantile(before, after, 0.5)
                row["service_p99_ms"] = _server_quantile(before, after, 0.99)
                rows.append(row)
                print(json.dumps(rows[-1]))
            metrics = httpx.get(f"{url}/metrics", timeout=10).text
            print("\n".join(line for line in metrics.splitlines() if "batch_sessions" in line))
        finally:
            server.terminate()
            server.wait(30)
    header = ("clients", "req/s", "p50 ms", "p99 ms", "in-service p50/p99")
    print(f"{header[0]:>7} {header[1]:>6} {header[2]:>8} {header[3]:>8} {header[4]:>19}  statuses")
    for row in rows:
        inside = f"{row['service_p50_ms']}/{row['service_p99_ms']}"
        print(
            f"{row['clients']:>7} {row['requests_per_s']:>6} {row['p50_ms']:>8} "
            f"{row['p99_ms']:>8} {inside:>19}  {row['statuses']} {row['transport_errors'] or ''}"
        )
    if args.save:
        args.save.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
