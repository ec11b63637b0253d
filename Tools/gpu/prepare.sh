#!/usr/bin/env bash
# Prepares, on this (GPU-less) machine, what Tools/gpu/check.sh needs on a GPU machine that has
# only the NVIDIA driver, CUDA and PyTorch (docs/gpu.md):
#   .gl/         the Vulkan loader and glvnd libraries as .debs (the driver's ICD needs them)
#   .whl/        the diffusers wheel, for the reference timings
#   .gpu-check/  stockwerk-gpu-check, release, with the Swift runtime linked in, xz-compressed
#                (57 MB → 15 MB: the device tool carries at most 64 MiB with the working tree)
#   .gpu-fixtures/  the three fixture pipelines the parity check reads (17 MB of Tests/Fixtures' 71)
# All four are ignored by git (.git/info/exclude) and travel with the device tool's `carry`.
set -euo pipefail
cd "$(dirname "$0")/../.."
for folder in .gl .whl .gpu-check .gpu-fixtures; do grep -qx "/$folder/" .git/info/exclude || echo "/$folder/" >> .git/info/exclude; done
mkdir -p .gl .whl .gpu-check /tmp/amd64/partial
options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
apt-get "${options[@]}" update -qq
(cd .gl && apt-get "${options[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl diffusers==0.42.1 importlib_metadata==8.7.0
swift build -c release --product stockwerk-gpu-check --static-swift-stdlib --scratch-path .build-gpu
strip -o .gpu-check/stockwerk-gpu-check .build-gpu/release/stockwerk-gpu-check
# Only the C library, libm, zlib and the C++ runtime: no oneDNN, BLAS or libvips.
if ldd .gpu-check/stockwerk-gpu-check | grep -E 'dnnl|blas|vips'; then echo "stockwerk-gpu-check links a CPU-only library" >&2; exit 1; fi
xz -f -T2 .gpu-check/stockwerk-gpu-check
rm -rf .gpu-fixtures && mkdir -p .gpu-fixtures/pipelines
cp -r Tests/Fixtures/pipelines/tiny-sd1 Tests/Fixtures/pipelines/tiny-sd2 Tests/Fixtures/pipelines/tiny-sdxl .gpu-fixtures/pipelines/
du -sh .gl .whl .gpu-check .gpu-fixtures
# The device tool sends the tracked files with what it carries, 64 MiB at most; the test fixtures
# alone are 71 MB, so they are moved aside for the run (git checkout Tests/Fixtures restores them).
tracked=$(git ls-files -z | grep -zv '^Tests/Fixtures/' | xargs -0 du -cb | tail -1 | cut -f1)
carried=$(du -scb .gl .whl .gpu-check .gpu-fixtures | tail -1 | cut -f1)
echo "travels without Tests/Fixtures: $(( (tracked + carried) >> 20 )) MiB of 64"
echo "run: mv Tests/Fixtures /tmp/fixtures-aside, then the device run with carry .gl .whl .gpu-check .gpu-fixtures and: bash Tools/gpu/check.sh, then mv /tmp/fixtures-aside Tests/Fixtures"
