#!/usr/bin/env bash
# Learned upscaling, Stockwerk beside PyTorch in one run (docs/benchmarks.md): full-size random
# RealESRGAN_x4plus- and realesr-general-x4v3-shaped weights, a 1024² image (512² for RRDBNet) in
# 256-px tiles without overlap (the same work on both sides), then Stockwerk's whole path for a 1536×1024
# photo to 6144×4096 with the standard tiles, with its peak memory.
# Usage: Tools/bench/upscaler-compare.sh VENV_PYTHON [WORK_FOLDER]   (after swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${1:?the reference venv python}
work=${2:-/tmp/stockwerk-upscaler-bench}
mkdir -p "$work"
[ -f "$work/rrdb-x4.safetensors" ] || "$python" Tools/bench/upscaler_reference.py write "$work"
lscpu | grep -m1 'Model name'
# SIZE per model: RRDBNet is about 13× the compact model's work, so it is timed on 512² by default.
# bf16 as well where the CPU has bf16 products (AVX512_BF16 or AMX): Stockwerk's bf16 engine beside
# PyTorch's CPU bf16 autocast.
precisions="fp32"
grep -qw -e avx512_bf16 -e amx_bf16 /proc/cpuinfo && precisions="fp32 bf16"
for precision in $precisions; do
  for entry in "compact-x4 ${COMPACT_SIZE:-1024}" "rrdb-x4 ${RRDB_SIZE:-512}"; do
    read -r model size <<<"$entry"
    STOCKWERK_PRECISION=$precision .build/release/StockwerkBench upscale "$work/$model.safetensors" "$size" 256 0
    OMP_NUM_THREADS=$(nproc) "$python" Tools/bench/upscaler_reference.py time "$work/$model.safetensors" "$size" 256 "$precision"
  done
done
convert Workflows/samples/rocket.jpg -resize 1536x1024! "$work/photo.png"
/usr/bin/time -f "peak RSS %M kB, %e s" .build/release/stockwerk upscale "$work/photo.png" --model "$work/compact-x4.safetensors" --output "$work/photo-x4.png"
