#!/usr/bin/env bash
# Stop a vLLM server started by scripts/vllm/serve.sh, using its pid file.
#
# Usage: scripts/vllm/stop.sh [PORT]     (default 8011; same VLLM_RUN_DIR as serve.sh)
set -euo pipefail

port="${1:-8011}"
run_dir="${VLLM_RUN_DIR:-/tmp/bundlekd-vllm}"
pid_file="$run_dir/vllm-$port.pid"

if [[ ! -f "$pid_file" ]]; then
    echo "[stop.sh] no pid file $pid_file: nothing to stop" >&2
    exit 0
fi
pid="$(cat "$pid_file")"
[[ "$pid" =~ ^[0-9]+$ ]] || { echo "[stop.sh] bad pid file $pid_file" >&2; exit 1; }

if ! kill -0 "$pid" 2>/dev/null; then
    echo "[stop.sh] pid $pid is not running; removing $pid_file" >&2
    rm -f "$pid_file"
    exit 0
fi

# serve.sh starts the server with setsid, so its pid is also its process group id: signalling the
# group also ends the engine process vLLM forks. Fall back to the pid alone if it is no leader.
is_leader=0
[[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$pid" ]] && is_leader=1
signal_server() {
    if ((is_leader)); then
        kill "-$1" -- "-$pid" 2>/dev/null || true
    else
        kill "-$1" "$pid" 2>/dev/null || true
    fi
}
alive() {  # the server, or while it was a group leader, anything left in its group
    if ((is_leader)); then
        pgrep -g "$pid" >/dev/null 2>&1
    else
        kill -0 "$pid" 2>/dev/null
    fi
}

echo "[stop.sh] stopping vLLM server pid $pid (port $port)" >&2
signal_server TERM
for _ in $(seq 1 30); do
    alive || break
    sleep 1
done
if alive; then
    echo "[stop.sh] still alive after 30 s: sending KILL" >&2
    signal_server KILL
fi
rm -f "$pid_file"
echo "[stop.sh] stopped" >&2
