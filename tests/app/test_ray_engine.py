"""`generate --engine ray` on a real local Ray cluster on this machine, loopback only.

The module starts the cluster itself (`ray start --head --block` with two CPUs, so the run's
two workers are two Ray worker processes) and stops it by terminating that process group. Ray
maps 127.0.0.1 to the host's network address unless it is told the cluster is one machine
(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0), and then it refuses a second node; loopback-only wins
here, so the second worker is a second worker process of the same node. A multi-node cluster is
the same code path (docs/scaling.md). Start-up is slow (~15-30 s), hence one cluster per module.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray.data", reason="the ray engine needs the [scale] extra (ray[data])")

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))
STARTED = "Ray runtime started"
# Every node and driver of the test cluster shares this token (Ray's token authentication;
# a worker node started without it is refused).
TOKEN = secrets.token_hex(32)


def _env() -> dict[str, str]:
    import bundlekd

    src = str(Path(bundlekd.__file__).resolve().parents[1])  # workers import this bundlekd
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    env.update(RAY_USAGE_STATS_ENABLED="0", BUNDLEKD_NUM_THREADS="1")
    # Ray maps 127.0.0.1 to the host's address unless told this is a one-machine "cluster":
    # with it every node and the driver stay on loopback.
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=TOKEN)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_node(args: list[str], log: Path, attempts: int = 3) -> subprocess.Popen[bytes]:
    """`ray start --block ARGS`, once it says it started. Ray gives a node 30 s to register
    (hard-coded); on a loaded box that can run out, so a failed start is tried again."""
    command = [RAY, "start", "--block", "--num-cpus", "2", "--object-store-memory", "80000000"]
    command += args
    for attempt in range(1, attempts + 1):
        with log.open("wb") as handle:
            process = subprocess.Popen(
                command,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=_env(),
                start_new_session=True,  # its own process group: the teardown ends all of it
            )
        deadline = time.monotonic() + 120
        while STARTED not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                _stop([process])
                break
            time.sleep(0.5)
        else:
            return process
        if attempt == attempts:
            pytest.fail(f"ray start failed: {log.read_text(errors='replace')[-2000:]}")
    raise AssertionError("unreachable")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM: `ray start --block` stops its own node, but may drain for 30 s first; after
    10 s the rest of each node's process group (the processes this module started) is killed."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The address of a one-node cluster on loopback with two CPUs (two worker processes)."""
    folder = Path(tempfile.mkdtemp(prefix="bkray", dir="/tmp"))  # Ray's socket paths are short
    port = _free_port()
    address = f"127.0.0.1:{port}"
    head_args = ["--head", "--port", str(port), "--node-ip-address", "127.0.0.1"]
    head_args += ["--include-dashboard", "false", "--temp-dir", str(folder)]
    head = _start_node(head_args, folder / "head.log")
    nodes = [head]
    try:
        yield address
    finally:
        _stop(nodes)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def tool_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A grouping-tool KB fitted on the shipped sample's training sessions (hashing embedder)."""
    kb = tmp_path_factory.mktemp("kb") / "kb"
    args = ["distill", "--source", "sample", "--kinds", "exemplar", "--embedder", "hashing"]
    _bundlekd([*args, "--kb", str(kb)], check=True)
    return kb


def _bundlekd(
    args: list[str], *, check: bool = False, wait: bool = True
) -> subprocess.Popen[str] | subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bundlekd", *args]
    if not wait:
        return subprocess.Popen(
            command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _bundles(path: Path) -> dict[tuple[object, object], object]:
    return {
        (r["domain"], r["session_id"]): (r["bundles"], r["proposals"], r["knowledge_ids"])
        for r in _rows(path)
    }


def test_ray_engine_writes_the_local_engines_bundles(cluster, tool_kb, tmp_path):
    base = ["generate", "--source", "sample", "--split", "all", "--kb", str(tool_kb)]
    base += ["--batch-size", "4"]
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    _bundlekd([*base, "--out", str(local)], check=True)
    ray_args = ["--engine", "ray", "--ray-address", cluster, "--workers", "2"]
    _bundlekd([*base, "--out", str(remote), *ray_args], check=True)

    expected = _bundles(local)
    assert len(expected) == 60  # every sample session, train and test
    assert _bundles(remote) == expected
    assert len(_rows(remote)) == 60  # no line twice
    manifest = json.loads(remote.with_name("ray.jsonl.manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["engine"] == {"name": "ray", "address": cluster, "workers": 2}
    assert manifest["file"] == {"lines": 60, "parsed": 60}

    again = _bundlekd([*base, "--out", str(remote), *ray_args], check=True)
    assert "60" in again.stdout  # all skipped
    assert len(_rows(remote)) == 60


def _many_sessions(path: Path, copies: int) -> int:
    """The sample sessions `copies` times over, under new ids: a run that lasts a while."""
    from bundlekd.data.sessions_jsonl import write_sessions
    from bundlekd.data.sources import load_sample

    sample = load_sample().sessions
    renamed = [
        s.model_copy(update={"session_id": f"{s.session_id}-c{copy}"})
        for copy in range(copies)
        for s in sample
    ]
    return write_sessions(path, renamed)


def _agent_workers() -> list[int]:
    """PIDs of the Ray actors that run `AgentWorker` (Ray names the process after the actor)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"ray::MapWorker") and b"AgentWorker" in cmdline:
            pids.append(int(entry.name))
    return pids


def _wait_for_lines(out: Path, n: int, run: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and run.poll() is None:
        if out.exists() and (count := len(out.read_bytes().splitlines())) >= n:
            return count
        time.sleep(0.05)
    pytest.fail(f"the run wrote fewer than {n} lines before it ended or timed out")


def test_killing_a_worker_loses_and_duplicates_nothing(cluster, tool_kb, tmp_path):
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("finds Ray's worker processes through /proc")
    sessions = tmp_path / "many.jsonl"
    total = _many_sessions(sessions, copies=12)
    out = tmp_path / "killed.jsonl"
    args = ["generate", "--sessions", str(sessions), "--split", "all", "--kb", str(tool_kb)]
    args += ["--batch-size", "2", "--out", str(out), "--engine", "ray"]
    args += ["--ray-address", cluster, "--workers", "2"]
    run = _bundlekd(args, wait=False)
    assert isinstance(run, subprocess.Popen)
    written = _wait_for_lines(out, 20, run)
    victims = _agent_workers()
    assert victims, "no AgentWorker process found"
    os.kill(victims[0], signal.SIGKILL)
    output, _ = run.communicate(timeout=300)
    assert written < total, "the run finished before the kill: make it longer"
    print(f"killed pid {victims[0]} after {written}/{total} lines; exit {run.returncode}")
    if run.returncode != 0:  # stopped cleanly: a one-line error, then a resume finishes it
        assert "error:" in output, output[-3000:]
        assert "Traceback" not in output, output[-3000:]
        _bundlekd(args, check=True)
    keys = Counter((r["domain"], r["session_id"]) for r in _rows(out))
    assert len(keys) == total  # 0 lost
    assert max(keys.values()) == 1  # 0 duplicated


def test_killing_the_driver_then_resuming_loses_and_duplicates_nothing(cluster, tool_kb, tmp_path):
    sessions = tmp_path / "many.jsonl"
    total = _many_sessions(sessions, copies=12)
    out = tmp_path / "driver.jsonl"
    args = ["generate", "--sessions", str(sessions), "--split", "all", "--kb", str(tool_kb)]
    args += ["--batch-size", "2", "--out", str(out), "--engine", "ray"]
    args += ["--ray-address", cluster, "--workers", "2"]
    run = _bundlekd(args, wait=False)
    assert isinstance(run, subprocess.Popen)
    written = _wait_for_lines(out, 20, run)
    run.kill()  # the driver: the only writer
    run.communicate(timeout=60)
    kept = out.read_bytes().count(b"\n")  # whole lines; the resume cuts a half-written one
    assert written <= kept < total
    resumed = _bundlekd(args, check=True)
    assert isinstance(resumed, subprocess.CompletedProcess)
    keys = Counter((r["domain"], r["session_id"]) for r in _rows(out))
    assert len(keys) == total  # 0 lost
    assert max(keys.values()) == 1  # 0 duplicated
    print(f"killed the driver after {kept}/{total} lines; the resume finished the rest")
