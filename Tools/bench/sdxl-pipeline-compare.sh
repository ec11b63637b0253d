#!/usr/bin/env bash
# A whole 1024² SDXL image (issue 18): `stockwerk generate` on a random full-size SDXL folder in
# fp16 (make_random_sdxl.py) with its weights kept in 16 bits, against diffusers fp32 and bf16 autocast
# (and bf16 weights) on the same folder, one process after the other, 2 threads, the peak RSS of
# each; then, when the venv has openvino, its UNet step and VAE decode (f32, bf16). Euler,
# guidance 7.5, STEPS steps.
# Usage: REFERENCE_PYTHON=/path/to/venv/bin/python Tools/bench/sdxl-pipeline-compare.sh SDXL_FOLDER [STEPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
folder=${1:?usage: sdxl-pipeline-compare.sh SDXL_FOLDER [STEPS]}
steps=${2:-2}
source Tools/bench/compare-common.sh
swift build -c release --product stockwerk >/dev/null
stockwerk=$(swift build -c release --show-bin-path)/stockwerk
out=$(mktemp -d)
for weights in 16-bit fp32; do
    echo "stockwerk fp32 compute, $weights weights:"
    peak "$stockwerk" generate --model "$folder" --prompt "a lighthouse on a cliff at dawn, photo" --negative blurry --seed 0 \
        --steps "$steps" --sampler euler --guidance 7.5 --size 1024x1024 --weights "$weights" --output "$out/$weights.png"
done
for mode in fp32 bf16-autocast bf16; do
    peak "$python" Tools/bench/sdxl_pipeline_reference.py "$folder" "$steps" "$mode"
done

# OpenVINO, when the reference venv has it (pip install openvino): the UNet step and VAE decode alone.
if "$python" -c "import openvino" 2>/dev/null; then
    for precision in f32 bf16; do peak "$python" Tools/bench/sdxl_openvino_reference.py "$folder" "$precision" 2; done
fi
rm -rf "$out"
