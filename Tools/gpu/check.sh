#!/usr/bin/env bash
# The GPU backend's check on a machine with a GPU (docs/gpu.md), after Tools/gpu/prepare.sh here:
# with Tests/Fixtures moved aside (the device tool sends at most 64 MiB; prepare.sh says how), the
# device tool's `run` with carry [".gl", ".whl", ".gpu-check", ".gpu-fixtures"] and the command
#   bash Tools/gpu/check.sh
# It installs the Vulkan loader, runs the fixture parity cases on the GPU, makes full-size
# random-weight SD 1.5 and SDXL folders with torch, and times Stockwerk's GPU backend and
# diffusers fp16 on them in the same run. Results go to $OUT (or ./gpu-check-results).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-gpu-check-results}
mkdir -p "$out"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
export PYTHONUNBUFFERED=1
check=/tmp/stockwerk-gpu-check
xz -dc .gpu-check/stockwerk-gpu-check.xz > $check && chmod +x $check
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
$check devices | tee -a "$out/gpu.txt"
fixtures=.gpu-fixtures
[ -d "$fixtures" ] || fixtures=Tests/Fixtures
$check parity "$fixtures" 2>&1 | tee "$out/parity.txt"
python3 Tools/bench/make_random_sd15.py /tmp/sd15 > /dev/null
python3 Tools/bench/make_random_sdxl.py /tmp/sdxl > /dev/null
: > "$out/timings.jsonl"
for model in "/tmp/sd15 512" "/tmp/sdxl 1024"; do
  read -r folder size <<<"$model"
  $check time "$folder" --size "$size" --steps 25 | tee -a "$out/timings.jsonl"
  python3 Tools/gpu/diffusers_timing.py "$folder" --size "$size" --steps 25 | tee -a "$out/timings.jsonl"
done
python3 - "$out/timings.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
for ours in (r for r in rows if "reference" not in r):
    theirs = next((r for r in rows if r.get("reference") and r["model"] == ours["model"]), None)
    if not theirs:
        continue
    print(f"{ours['model']} {ours['size']}²: step {ours['step_ms']:.1f} ms vs {theirs['step_ms']:.1f} ms ({ours['step_ms'] / theirs['step_ms']:.2f}×), "
          f"decode {ours['decode_ms']:.0f} vs {theirs['decode_ms']:.0f} ms ({ours['decode_ms'] / theirs['decode_ms']:.2f}×), "
          f"image {ours['image_s']:.2f} s vs {theirs['image_s']:.2f} s")
PY
