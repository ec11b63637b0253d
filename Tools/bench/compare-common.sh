# Sourced by the side-by-side benchmark scripts (core-compare.sh, sdxl-compare.sh): from the
# repository root, checks REFERENCE_PYTHON, builds StockwerkBench in release (as $bench), pins
# 2 threads, names the machine and the reference versions, and defines `peak` (runs a command
# under /usr/bin/time and prints its peak RSS).
python=${REFERENCE_PYTHON:?set REFERENCE_PYTHON to the reference venv python (see Tools/reference/README.md)}
swift build -c release --product StockwerkBench >/dev/null
bench=$(swift build -c release --show-bin-path)/StockwerkBench
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GB, flags: $(grep -m1 -o -w -E 'avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | xargs)"
"$python" -c "import torch, diffusers; print('torch', torch.__version__, 'diffusers', diffusers.__version__)"
peak() { /usr/bin/time -f "  peak RSS %M KB" "$@" 2>&1; }
