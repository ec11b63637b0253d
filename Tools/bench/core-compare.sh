#!/usr/bin/env bash
# Engine core (issue 17): the full-size SD 1.5 UNet's guided step at 512² and the VAE decode at
# 512², Stockwerk in fp32 and at --precision auto against diffusers fp32 and, when OPENVINO_PYTHON
# and OPENVINO_MODEL are set, OpenVINO f32 and bf16 (optimum-intel's export of the same random
# folder; see openvino_reference.py), interleaved in one run, 2 threads, peak RSS of each process.
# Usage: REFERENCE_PYTHON=/path/to/venv/bin/python [OPENVINO_PYTHON=… OPENVINO_MODEL=…] Tools/bench/core-compare.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
source Tools/bench/compare-common.sh
for round in $(seq "$rounds"); do
  echo "-- round $round"
  peak "$bench" unet-step 3 | sed 's/^/stockwerk fp32: /'
  STOCKWERK_PRECISION=auto peak "$bench" unet-step 3 | sed 's/^/stockwerk auto: /'
  peak "$python" Tools/bench/unet_reference.py 3
  peak "$bench" vae-decode 512 whole | sed 's/^/stockwerk fp32: /'
  peak "$python" Tools/bench/vae_reference.py
  if [ -n "${OPENVINO_PYTHON:-}" ]; then
    for precision in f32 bf16; do peak "$OPENVINO_PYTHON" Tools/bench/openvino_reference.py "$OPENVINO_MODEL" "$precision" 3; done
  fi
done
