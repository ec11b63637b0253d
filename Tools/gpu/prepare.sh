#!/usr/bin/env bash
# Prepares, on this (GPU-less) machine, what Tools/gpu/check.sh needs on a GPU machine that has
# only the NVIDIA driver, CUDA and PyTorch (docs/gpu.md):
#   .gl/         the Vulkan loader and glvnd libraries as .debs (the driver's ICD needs them)
#   .whl/        the diffusers wheel, for the reference timings
#   .gpu-check/  stockwerk-gpu-check, release, with the Swift runtime linked in
# All three are ignored by git (.git/info/exclude) and travel with the device tool's `carry`.
set -euo pipefail
cd "$(dirname "$0")/../.."
for folder in .gl .whl .gpu-check; do grep -qx "/$folder/" .git/info/exclude || echo "/$folder/" >> .git/info/exclude; done
mkdir -p .gl .whl .gpu-check /tmp/amd64/partial
options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
apt-get "${options[@]}" update -qq
(cd .gl && apt-get "${options[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl diffusers==0.42.1 importlib_metadata==8.7.0
swift build -c release --product stockwerk-gpu-check --static-swift-stdlib --scratch-path .build-gpu
cp .build-gpu/release/stockwerk-gpu-check .gpu-check/
strip .gpu-check/stockwerk-gpu-check
du -sh .gl .whl .gpu-check
