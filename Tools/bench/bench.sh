#!/usr/bin/env bash
# Benchmarks the finish (6K) and metadata stages in a release build, side by side with
# ImageMagick `convert -resize` and `exiftool` on the same inputs, in the same run.
# Usage: Tools/bench/bench.sh [ROUNDS] [metadata]   (needs imagemagick, libimage-exiftool-perl; see Tools/install-deps.sh)
# With `metadata`, only the metadata stage is compared (its 6K inputs are still made by the finish stage).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
only=${2:-all}
swift build -c release >/dev/null
bench=$(swift build -c release --show-bin-path)/StockwerkBench
work=$(mktemp -d /tmp/stockwerk-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Inputs: the four quickstart samples, each used $rounds times.
inputs=()
for r in $(seq 1 "$rounds"); do
  for f in Workflows/samples/*.jpg Workflows/samples/*.png; do inputs+=("$f"); done
done
n=${#inputs[@]}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "libvips $(pkg-config --modversion vips), $(convert -version | head -1 | cut -d' ' -f2-3), ExifTool $(exiftool -ver)"
echo "inputs: $n images (451–1000 px long edge) → 6144 px long edge, JPEG q92 4:4:4"

timed() {  # label, command…  → prints seconds and peak RSS
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null
  end=$(date +%s.%N)
  local seconds; seconds=$(echo "$end - $start" | bc -l)
  printf '%-44s %7.2f s  %6.3f img/s  peak RSS %4d MB\n' "$label" "$seconds" "$(echo "$n / $seconds" | bc -l)" "$(( $(cat "$work/rss") / 1024 ))"
  echo "$seconds" > "$work/last"
}

mkdir -p "$work/sw-bicubic" "$work/sw-default" "$work/im"
echo
echo "== finish: enlarge to 6144 px =="
timed "stockwerk finish (bicubic, no sharpen)" "$bench" finish "$work/sw-bicubic" bicubic nosharpen "${inputs[@]}"
sw_bicubic=$(cat "$work/last")
if [ "$only" != metadata ]; then
timed "stockwerk finish (bicubic + mild sharpen)" "$bench" finish "$work/sw-default" bicubic sharpen "${inputs[@]}"
sw_default=$(cat "$work/last")
cat > "$work/im.sh" <<IM
i=0
for f in "\$@"; do convert "\$f" -colorspace sRGB -resize 6144x6144 -quality 92 -sampling-factor 4:4:4 "$work/im/\$i.jpg"; i=\$((i+1)); done
IM
timed "ImageMagick convert -resize (default filter)" bash "$work/im.sh" "${inputs[@]}"
im=$(cat "$work/last")
mkdir -p "$work/im-sharp"
sed -e 's/-resize 6144x6144/-resize 6144x6144 -unsharp 0x0.8+1+0.008/' -e "s#$work/im/#$work/im-sharp/#" "$work/im.sh" > "$work/im-sharp.sh"
timed "ImageMagick convert -resize -unsharp 0x0.8" bash "$work/im-sharp.sh" "${inputs[@]}"
im_sharp=$(cat "$work/last")
printf 'ratio ImageMagick / stockwerk, no sharpening: %.2f×; with sharpening: %.2f×\n' \
  "$(echo "$im / $sw_bicubic" | bc -l)" "$(echo "$im_sharp / $sw_default" | bc -l)"
fi

echo
echo "== metadata: full field set written into 6K JPEGs =="
# ExifTool 12.57 does not define the IPTC 2025.1 AI fields; Stockwerk writes them in addition.
mkdir -p "$work/meta-sw" "$work/meta-et"
for f in "$work"/sw-bicubic/*.jpg; do cp "$f" "$work/meta-sw/"; cp "$f" "$work/meta-et/"; done
sync  # both tools start from files already on disk
timed "stockwerk metadata (EXIF + IPTC + XMP)" "$bench" metadata "$work"/meta-sw/*.jpg
sw_meta=$(cat "$work/last")
timed "exiftool, one process for the batch" exiftool -q -overwrite_original -charset iptc=UTF8 -IPTC:CodedCharacterSet=UTF8 \
  "-XMP-dc:Title=Cup of coffee with latte art on a wooden café table" "-IPTC:ObjectName=Cup of coffee with latte art on a wooden café table" \
  "-XMP-photoshop:Headline=Cup of coffee with latte art on a wooden café table" "-IPTC:Headline=Cup of coffee with latte art on a wooden café table" \
  "-XMP-dc:Description=A white porcelain cup of coffee with heart latte art on a saucer, on a rustic wooden café table, seen from above." \
  "-IPTC:Caption-Abstract=A white porcelain cup of coffee with heart latte art on a saucer, on a rustic wooden café table, seen from above." \
  "-EXIF:ImageDescription=A white porcelain cup of coffee with heart latte art on a saucer, on a rustic wooden café table, seen from above." \
  -sep ", " "-XMP-dc:Subject=coffee, latte art, cup, cappuccino, café, wooden table, breakfast, drink, espresso, morning, top view, saucer, hot drink, foam, barista, beverage, caffeine, table, rustic, ceramic, heart, aroma, relax, break, warm" \
  "-IPTC:Keywords=coffee, latte art, cup, cappuccino, café, wooden table, breakfast, drink, espresso, morning, top view, saucer, hot drink, foam, barista, beverage, caffeine, table, rustic, ceramic, heart, aroma, relax, break, warm" \
  "-XMP-dc:Creator=Zoë Müller" "-IPTC:By-line=Zoë Müller" "-EXIF:Artist=Zoë Müller" \
  "-XMP-dc:Rights=© 2026 Zoë Müller" "-IPTC:CopyrightNotice=© 2026 Zoë Müller" "-EXIF:Copyright=© 2026 Zoë Müller" \
  "-XMP-iptcExt:DigitalSourceType=http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia" \
  "-XMP-photoshop:Credit=Zoë Müller / Stockwerk" "-IPTC:Credit=Zoë Müller / Stockwerk" "-XMP-photoshop:Source=Stockwerk" "-IPTC:Source=Stockwerk" \
  "-XMP-photoshop:City=Zürich" "-IPTC:City=Zürich" "-XMP-photoshop:Country=Schweiz" "-IPTC:Country-PrimaryLocationName=Schweiz" \
  "-XMP-photoshop:DateCreated=2026:11:25 08:30:00+01:00" "-IPTC:DateCreated=2026:11:25" "-IPTC:TimeCreated=08:30:00+01:00" \
  "-EXIF:DateTimeOriginal=2026:11:25 08:30:00" \
  "-EXIF:Software=Stockwerk" "-XMP-xmp:CreatorTool=Stockwerk" "$work"/meta-et/*.jpg
et=$(cat "$work/last")
printf 'ratio exiftool / stockwerk: %.1f×\n' "$(echo "$et / $sw_meta" | bc -l)"
# ExifTool does not flush its writes; Stockwerk's are durable (fsync before rename). The same
# durability for ExifTool costs a sync afterwards:
start=$(date +%s.%N); sync; et_sync=$(echo "$et + $(date +%s.%N) - $start" | bc -l)
printf 'exiftool + sync: %.2f s; ratio (exiftool + sync) / stockwerk: %.1f×\n' "$et_sync" "$(echo "$et_sync / $sw_meta" | bc -l)"
[ "$only" = metadata ] && exit 0

echo
echo "== finish: enlargement interpolators (no sharpen), same inputs =="
for interpolator in nohalo lbb; do
  mkdir -p "$work/sw-$interpolator"
  timed "stockwerk finish ($interpolator, no sharpen)" "$bench" finish "$work/sw-$interpolator" "$interpolator" nosharpen "${inputs[@]}"
done
