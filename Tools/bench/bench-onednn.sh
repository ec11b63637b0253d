#!/bin/sh
# oneDNN 2.6.3 (Debian libdnnl-dev) against oneDNN 3.x from PyPI on SD 1.5's convolutions and
# matrix products, f32 and bf16, 2 threads (issue 17, item 4). PyPI's current `onednn` (2026.1,
# oneDNN 3.13) is a SYCL build that finds no CPU device without Intel's SYCL/OpenCL CPU runtime
# ("could not create an engine"), so the 3.x measured is the newest plain-CPU wheel with GNU
# OpenMP, as Debian's: onednn-cpu-gomp 2023.2.0 (oneDNN 3.2).
# Usage: Tools/bench/bench-onednn.sh [VENV]   (VENV: a venv with onednn-cpu-gomp and
# onednn-devel-cpu-gomp; default ../onednn-venv, made here when missing).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-$here/../../../onednn-venv}
if [ ! -f "$venv/include/dnnl.hpp" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q onednn-cpu-gomp==2023.2.0 onednn-devel-cpu-gomp==2023.2.0
fi
build=$(mktemp -d)
c++ -O2 -std=c++17 "$here/onednn-compare.cpp" -o "$build/onednn2" -ldnnl
c++ -O2 -std=c++17 -I"$venv/include" "$here/onednn-compare.cpp" -o "$build/onednn3" -L"$venv/lib" -ldnnl -Wl,-rpath,"$venv/lib"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; flags: $(grep -o -w -E 'avx512_bf16|amx_bf16|avx512f|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
OMP_NUM_THREADS=2 "$build/onednn2"
LD_LIBRARY_PATH="$venv/lib" OMP_NUM_THREADS=2 "$build/onednn3"
rm -rf "$build"
