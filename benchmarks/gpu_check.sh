#!/usr/bin/env bash
# The GPU check of issue 12, prepared to run in a few minutes on a machine with a GPU; prints markdown.
#
#   bash benchmarks/gpu_check.sh            # from anywhere; PYTHON=... to choose the interpreter
#
# 1. the card (nvidia-smi);
# 2. benchmarks/gpu_check.py: bf16 peak, then none, mae, adios-s and adios training on 96 px shapes
#    with ResNet18 (images/s, peak memory, fraction of the bf16 peak), then `adios compare --preset
#    paper` for one epoch on STL-10-format files it writes;
# 3. with two GPUs or more: the torchrun tests (tests/adios/engine/test_distributed.py) on 2 GPUs with NCCL.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export ADIOS_CACHE="${ADIOS_CACHE:-$(mktemp -d)}"   # the generated shapes live here (a fresh folder by default)

echo "# adios GPU check ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo
echo '```'
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv 2>/dev/null || echo "nvidia-smi not available"
echo '```'
echo
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)

"$PYTHON" benchmarks/gpu_check.py --device cuda || echo "**benchmarks/gpu_check.py failed (exit $?)**"

echo
echo "### torchrun on 2 GPUs (NCCL)"
echo
if [[ "$gpus" -ge 2 ]]; then
    echo '```'
    # the CPU tests' cases on cuda:0 and cuda:1; the resume test is for the CPU (GPU kernels are not bitwise reproducible)
    ADIOS_TEST_DDP_DEVICE=cuda "$PYTHON" -m pytest -q -p no:cacheprovider tests/adios/engine/test_distributed.py 2>&1 | tail -n 15
    echo '```'
else
    echo "skipped: $gpus GPU(s) on this machine, the test needs 2"
fi
