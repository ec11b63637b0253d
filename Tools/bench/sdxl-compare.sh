#!/usr/bin/env bash
# SDXL (issue 18): the full-size SDXL base UNet's guided step at 1024² and the VAE decode at 1024²
# (SDXL's VAE has SD's shapes), Stockwerk fp32 against diffusers fp32, one process after the
# other (each holds a 10 GB UNet), 2 threads, peak RSS of each process.
# Usage: REFERENCE_PYTHON=/path/to/venv/bin/python Tools/bench/sdxl-compare.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${REFERENCE_PYTHON:?set REFERENCE_PYTHON to the reference venv python (see Tools/reference/README.md)}
steps=${1:-2}
swift build -c release --product StockwerkBench >/dev/null
bench=$(swift build -c release --show-bin-path)/StockwerkBench
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GB, flags: $(grep -m1 -o -w -E 'avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | xargs)"
"$python" -c "import torch, diffusers; print('torch', torch.__version__, 'diffusers', diffusers.__version__)"
peak() { /usr/bin/time -f "  peak RSS %M KB" "$@" 2>&1; }
peak "$bench" sdxl-unet-step "$steps" 1024 | sed 's/^/stockwerk fp32: /'
peak "$python" Tools/bench/sdxl_unet_reference.py "$steps" 1024
peak "$bench" vae-decode 1024 whole | sed 's/^/stockwerk fp32: /'
peak "$python" Tools/bench/vae_reference.py 1024
