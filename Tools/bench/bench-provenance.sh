#!/usr/bin/env bash
# Benchmarks reading provenance (what `stockwerk check` reads of each file before deciding whether
# it is AI) in a release build, side by side with `exiftool -j` reading the same files, in one run.
# Inputs: the provenance fixtures (Tests/Fixtures/provenance, 64×48 px, every tool's format) and
# large files: a 6144×4096 JPEG with A1111's UserComment and a 4096×4096 noise PNG (~50 MB) whose
# `parameters` chunk sits after the image data, as A1111 and Pillow write it.
# Usage: Tools/bench/bench-provenance.sh [ROUNDS]   (needs imagemagick, libimage-exiftool-perl, python3)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-20}
swift build -c release --product StockwerkBench >/dev/null
bench=$(swift build -c release --show-bin-path)/StockwerkBench
work=$(mktemp -d /tmp/stockwerk-provenance-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); ExifTool $(exiftool -ver)"

convert -size 6144x4096 gradient:navy-orange -quality 92 "$work/large.jpg"
exiftool -q -overwrite_original -UserComment="a red fox in a snowy forest
Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: v1-5-pruned-emaonly" "$work/large.jpg"
convert -size 4096x4096 xc: +noise Random -define png:compression-level=1 "$work/large.png"
python3 - "$work/large.png" <<'PY'
import struct, sys, zlib
path = sys.argv[1]
data = open(path, "rb").read()
text = b"parameters\0a red fox in a snowy forest\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: v1-5-pruned-emaonly"
chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
open(path, "wb").write(data[:-12] + chunk + data[-12:])  # before IEND
PY

small=()
for _ in $(seq 1 "$rounds"); do for f in Tests/Fixtures/provenance/*.{jpg,png}; do
  case "$f" in *hostile*) ;; *) small+=("$f");; esac
done; done
large=()
for _ in $(seq 1 "$rounds"); do large+=("$work/large.jpg" "$work/large.png"); done

timed() {  # label, count, command…
  local label=$1 n=$2; shift 2
  local start end seconds
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
  end=$(date +%s.%N)
  seconds=$(echo "$end - $start" | bc -l)
  printf '%-36s %4d files %7.3f s  %8.1f files/s  peak RSS %4d MB\n' "$label" "$n" "$seconds" "$(echo "$n / $seconds" | bc -l)" "$(( $(cat "$work/rss") / 1024 ))"
  echo "$seconds" > "$work/last"
}
for set in small large; do
  declare -n files=$set
  echo "== $set files =="
  timed "stockwerk (facts + metadata + provenance)" "${#files[@]}" "$bench" provenance "${files[@]}"; sw=$(cat "$work/last")
  timed "exiftool -j (one process)" "${#files[@]}" exiftool -j -a -G1 "${files[@]}"; et=$(cat "$work/last")
  printf 'ratio: Stockwerk %.1f× faster than ExifTool\n' "$(echo "$et / $sw" | bc -l)"
done
