#!/usr/bin/env bash
# Benchmarks a workflow of 8 imported photos (3000×2000 JPEGs → 6144 px, described, tagged and
# checked for two agencies), run one image after another (`--jobs 1`) and with light stages of
# several images at once (the default `--jobs`), in one release build, alternating, fresh output
# folders each time. Usage: Tools/bench/concurrency.sh [ROUNDS]   (needs imagemagick for the inputs)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
swift build -c release --product stockwerk >/dev/null
stockwerk=$(swift build -c release --show-bin-path)/stockwerk
work=$(mktemp -d /tmp/stockwerk-concurrency.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/photos"
for seed in 1 2 3 4 5 6 7 8; do
  convert -size 3000x2000 plasma:fractal -seed "$seed" -quality 92 "$work/photos/photo$seed.jpg"
done
cat > "$work/w.yaml" <<YAML
import: {files: "photos/*.jpg"}
describe: {max_keywords: 30}
finish: {long_edge: 6144}
metadata: {title: Plasma study, description: A fractal plasma texture., creator: Bench, copyright: CC0,
           keywords: [plasma, texture, abstract, colour, background, fractal, pattern]}
agencies: [adobe-stock, shutterstock]
output: out
YAML

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "inputs: 8 JPEGs 3000x2000 → 6144x4096, describe, tag, check (adobe-stock, shutterstock), packages"
declare -A total
for round in $(seq 1 "$rounds"); do
  for jobs in 1 default; do
    rm -rf "$work/out"
    args=(run "$work/w.yaml" --presets presets)
    [ "$jobs" = 1 ] && args+=(--jobs 1)
    start=$(date +%s.%N)
    "$stockwerk" "${args[@]}" >/dev/null 2>&1 || [ $? -eq 1 ]   # 1: some image rejected by an agency
    seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
    total[$jobs]=$(echo "${total[$jobs]:-0} + $seconds" | bc -l)
    printf 'round %d  --jobs %-8s %7.2f s\n' "$round" "$jobs" "$seconds"
  done
done
serial=$(echo "${total[1]} / $rounds" | bc -l)
parallel=$(echo "${total[default]} / $rounds" | bc -l)
printf 'mean: one after another %.2f s, concurrent %.2f s: %.2f× the time (%.2f× faster)\n' \
  "$serial" "$parallel" "$(echo "$parallel / $serial" | bc -l)" "$(echo "$serial / $parallel" | bc -l)"
