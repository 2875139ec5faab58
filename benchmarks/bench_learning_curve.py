"""Knowledge that goes live, measured through the API: a learning curve and the latency from a
label's acknowledgement to the first answer that uses it.

    python benchmarks/bench_learning_curve.py --kb KB --domain food --steps 60 --every 10
    python benchmarks/bench_learning_curve.py --kb KB --domain food --steps 20 --corrections

Copies KB to a temp folder (the original is never written), starts a real `bundlekd serve` on
it, and then, one session at a time, POSTs labelled training sessions to /v1/feedback:

- default: training sessions of the domain that the KB does not hold yet (distil the KB from a
  part of train, e.g. `distill --ratio 0.25`, to hold some back), with their true bundles;
- `--corrections`: training sessions the KB holds, with their first two bundles merged (a
  correction a person might make; needs no held-back sessions, so it runs on a full KB).

After each acknowledged label it asks /v1/bundles for the same session until the answer is the
label (latency: acknowledgement -> first answer that uses it; the service reloads before it
acknowledges, so this is normally the first answer). Every `--every` labels, and before the
first, it scores the domain's val sessions (through /v1/bundles) with the evaluator: strict P /
uR / coverage (AICL 2025), exact P, GJS and pair F1. The tool's weights stay as fitted (no
refit): what changes is its memory. Prints a table; `--save` writes the rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bundlekd.app.service.loadgen import wait_ready
from bundlekd.data.schema import Bundle, Prediction, Session
from bundlekd.data.sources import load_sessions
from bundlekd.eval.evaluator import evaluate
from bundlekd.knowledge_base.kb import KnowledgeBase

CHUNK = 32  # sessions per /v1/bundles request (under the service's max_sessions)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _session_in(session: Session) -> dict[str, Any]:
    items = [{"item_id": i.item_id, "title": i.title} for i in session.items]
    return {"session_id": session.session_id, "domain": session.domain, "items": items}


def _answers(client: httpx.Client, sessions: list[Session]) -> list[Prediction]:
    predictions = []
    for start in range(0, len(sessions), CHUNK):
        chunk = sessions[start : start + CHUNK]
        body = {"sessions": [_session_in(s) for s in chunk]}
        response = client.post("/v1/bundles", json=body)
        response.raise_for_status()
        for session, out in zip(chunk, response.json()["predictions"], strict=True):
            bundles = tuple(
                Bundle(items=tuple(b["items"]), intent=b["intent"]) for b in out["bundles"]
            )
            predictions.append(
                Prediction(session_id=session.session_id, domain=session.domain, bundles=bundles)
            )
    return predictions


def _val_scores(client: httpx.Client, val: list[Session]) -> dict[str, float]:
    report = evaluate(_answers(client, val), val)
    head = report.group(val[0].domain).headline
    return {
        "P": head.precision,
        "uR": head.recall,
        "Cov": head.coverage,
        "xP": head.exact_precision,
        "GJS": head.gjs,
        "pairF1": head.pair_f1,
    }


def _refit(client: httpx.Client, kb_dir: Path, val: list[Session]) -> dict[str, Any]:
    """`kb refit-tool` in another process; val scores once the service answers from it."""
    before = KnowledgeBase.open(kb_dir, read_only=True).store.last_seq()
    command = [sys.executable, "-m", "bundlekd", "kb", "refit-tool", str(kb_dir)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    after = KnowledgeBase.open(kb_dir, read_only=True).store.last_seq()
    if after == before:
        raise SystemExit("the refit changed nothing")
    deadline = time.monotonic() + 60
    while client.get("/ready").json().get("kb_seq") != after:  # the watcher's pickup
        if time.monotonic() > deadline:
            raise SystemExit("the service did not pick the refit up in 60 s")
        time.sleep(0.1)
    return _val_scores(client, val)


def _label(session: Session, corrections: bool) -> list[dict[str, Any]]:
    bundles = list(session.bundles or ())
    if corrections and len(bundles) >= 2:
        merged = dict.fromkeys((*bundles[0].items, *bundles[1].items))
        bundles = [Bundle(items=tuple(merged), intent=bundles[0].intent), *bundles[2:]]
    return [{"items": list(b.items), "intent": b.intent} for b in bundles]


def _as_sets(bundles: list[list[str]]) -> list[frozenset[str]]:
    return sorted((frozenset(b) for b in bundles), key=sorted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, required=True, help="KB folder (copied, not written).")
    parser.add_argument("--domain", default="food")
    parser.add_argument("--steps", type=int, default=60, help="Labels to post, one at a time.")
    parser.add_argument("--every", type=int, default=10, help="Score val every N labels.")
    parser.add_argument("--corrections", action="store_true", help="Correct held sessions.")
    parser.add_argument(
        "--refit-at-end",
        action="store_true",
        help="Then run `bundlekd kb refit-tool` on the KB (another process) and score val "
        "again once the service has picked the refit up.",
    )
    parser.add_argument("--save", type=Path, help="Write the rows as JSON here.")
    args = parser.parse_args()
    if not os.environ.get("BUNDLEKD_DATA_DIR"):
        sys.exit("set BUNDLEKD_DATA_DIR to the AICL data folder (../shared/data/bundles)")

    train = load_sessions("aicl", domains=[args.domain], split="train")
    val = load_sessions("aicl", domains=[args.domain], split="val")
    with tempfile.TemporaryDirectory() as tmp:
        kb_dir = Path(tmp) / "kb"
        shutil.copytree(args.kb, kb_dir)
        held = {
            s
            for i in KnowledgeBase.open(kb_dir, read_only=True).items(kind="exemplar")
            if i.domain == args.domain
            for s in i.source_session_ids
        }
        if args.corrections:
            pool = [s for s in train if s.session_id in held and len(s.bundles or ()) >= 2]
        else:
            pool = [s for s in train if s.session_id not in held and s.bundles]
        if len(pool) < args.steps:
            sys.exit(
                f"only {len(pool)} suitable training sessions for {args.steps} steps"
                + ("" if args.corrections else ": distil the KB from fewer (--ratio)")
            )
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "BUNDLEKD_NUM_THREADS": "1"}
        command = [sys.executable, "-m", "bundlekd", "serve", "--kb", str(kb_dir)]
        command += ["--port", str(port), "--log-level", "warning"]
        server = subprocess.Popen(command, env=env)
        rows: list[dict[str, Any]] = []
        latencies: list[float] = []
        acks: list[float] = []
        try:
            wait_ready(url, server, timeout_s=900)
            with httpx.Client(base_url=url, timeout=120) as client:
                rows.append({"labels": 0, **_val_scores(client, val)})
                print(json.dumps(rows[-1]), flush=True)
                for step, session in enumerate(pool[: args.steps], start=1):
                    label = _label(session, args.corrections)
                    body = {"session": _session_in(session), "bundles": label, "author": "bench"}
                    sent = time.perf_counter()
                    posted = client.post("/v1/feedback", json=body)
                    posted.raise_for_status()
                    acked = time.perf_counter()
                    acks.append(acked - sent)
                    wanted = _as_sets([b["items"] for b in label])
                    while True:  # until the answer is the label
                        got = _answers(client, [session])[0]
                        if _as_sets([list(b.items) for b in got.bundles]) == wanted:
                            break
                        if time.perf_counter() - acked > 30:
                            raise SystemExit(f"step {step}: the label never became the answer")
                    latencies.append(time.perf_counter() - acked)
                    if step % args.every == 0 or step == args.steps:
                        rows.append({"labels": step, **_val_scores(client, val)})
                        print(json.dumps(rows[-1]), flush=True)
                if args.refit_at_end:
                    rows.append({"labels": f"{args.steps}+refit", **_refit(client, kb_dir, val)})
                    print(json.dumps(rows[-1]), flush=True)
        finally:
            server.terminate()
            server.wait(60)
    from bundlekd.llm.precision import cpu_summary

    cpu = cpu_summary()
    kind = "corrections of held sessions" if args.corrections else "new training sessions"
    print(f"\n{args.domain}, {len(val)} val sessions, {kind}; {cpu}")
    print(f"{'labels':>10} {'P':>6} {'uR':>6} {'Cov':>6} {'xP':>6} {'GJS':>6} {'pairF1':>6}")
    for row in rows:
        print(
            f"{row['labels']:>10} {row['P']:>6.3f} {row['uR']:>6.3f} {row['Cov']:>6.3f} "
            f"{row['xP']:>6.3f} {row['GJS']:>6.3f} {row['pairF1']:>6.3f}"
        )
    ack = sorted(acks)
    live = sorted(latencies)
    print(
        f"POST /v1/feedback until acknowledged: median {1000 * statistics.median(ack):.0f} ms, "
        f"max {1000 * ack[-1]:.0f} ms; acknowledgement -> first answer that uses it: median "
        f"{1000 * statistics.median(live):.0f} ms, max {1000 * live[-1]:.0f} ms "
        f"({len(live)} labels)"
    )
    if args.save:
        summary = {"ack_s": acks, "live_s": latencies, "rows": rows}
        args.save.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
