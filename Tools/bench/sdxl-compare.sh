#!/usr/bin/env bash
# SDXL (issue 18): the full-size SDXL base UNet's guided step at 1024² and the VAE decode at 1024²
# (SDXL's VAE has SD's shapes), Stockwerk fp32 against diffusers fp32, one process after the
# other (each holds a 10 GB UNet), 2 threads, peak RSS of each process.
# Usage: REFERENCE_PYTHON=/path/to/venv/bin/python Tools/bench/sdxl-compare.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=${1:-2}
source Tools/bench/compare-common.sh
peak "$bench" sdxl-unet-step "$steps" 1024 | sed 's/^/stockwerk fp32: /'
peak "$python" Tools/bench/sdxl_unet_reference.py "$steps" 1024
peak "$bench" vae-decode 1024 whole | sed 's/^/stockwerk fp32: /'
peak "$python" Tools/bench/vae_reference.py 1024
