#!/usr/bin/env bash
# Engine benchmark: Stockwerk's sgemm and SD 1.5 text encoder against numpy and transformers,
# same machine, same run, both fp32 with 2 threads.
# Usage: REFERENCE_PYTHON=/path/to/venv/bin/python Tools/bench/engine.sh   (venv: Tools/reference/README.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${REFERENCE_PYTHON:?set REFERENCE_PYTHON to the reference venv python (see Tools/reference/README.md)}
swift build -c release >/dev/null
bench=$(swift build -c release --show-bin-path)/StockwerkBench
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for round in 1 2 3; do
  echo "-- round $round"
  "$bench" sgemm 2048 15
  STOCKWERK_GEMM=openblas "$bench" sgemm 2048 15 | sed 's/^/openblas /'
  "$bench" text-encoder 30
  STOCKWERK_GEMM=openblas "$bench" text-encoder 30 | sed 's/^/openblas /'
  "$python" Tools/bench/engine_reference.py 2 30
done
