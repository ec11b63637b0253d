#!/usr/bin/env bash
# Renders a contact sheet in headless Chromium (Debian package `chromium`) and checks the
# screenshot: the page must draw its thumbnails (many distinct colours, not a blank or broken
# page) without fetching anything from the network.
# Usage: Tools/checks/contact-sheet-screenshot.sh OUTPUT/contact-sheet.html [SCREENSHOT.png]
# Needs: chromium (apt-get install chromium) and ImageMagick's identify (Tools/install-deps.sh). Not part of `swift test`: Chromium is a
# 290 MB install that the test suite does not need.
set -euo pipefail
sheet=$(realpath "$1")
shot=${2:-$(mktemp /tmp/contact-sheet.XXXXXX.png)}
command -v chromium >/dev/null || { echo "chromium is not installed: sudo apt-get install chromium" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# No network at all: a page that needed one would show broken images.
chromium --headless --no-sandbox --disable-gpu --user-data-dir="$profile" --proxy-server="127.0.0.1:9" \
  --window-size=1280,1600 --hide-scrollbars --screenshot="$shot" "file://$sheet" >/dev/null 2>&1
# A drawn page with thumbnails has thousands of colours; a blank or broken one a handful.
colours=$(identify -format %k "$shot")
size=$(identify -format %wx%h "$shot")
echo "screenshot $size, $colours distinct colours"
[ "$colours" -gt 1000 ] || { echo "the page looks blank: thumbnails did not render" >&2; exit 1; }
echo "ok: $shot"
