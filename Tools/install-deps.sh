#!/usr/bin/env bash
# Installs the Debian packages Stockwerk builds, tests and benchmarks with. Idempotent: when every
# package is present it changes nothing and does not touch the network. Run as root, or with sudo.
set -euo pipefail
packages=(
  pkg-config libvips-dev libexif-dev libsqlite3-dev   # build: libvips, libexif, SQLite (GRDB)
  zlib1g-dev libopenblas-dev libdnnl-dev               # build: gzip, BLAS and oneDNN for the engine
  libimage-exiftool-perl exiv2 sqlite3                # tests: independent metadata readers, catalog queries
  imagemagick bc time                                 # tests and benchmarks: ImageMagick comparison, timing
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "error: the Swift 6 toolchain is not on PATH" >&2
  echo "hint: install Swift 6.x for Debian 12 from swift.org (see README.md, Prerequisites), then run this again" >&2
  exit 2
fi
