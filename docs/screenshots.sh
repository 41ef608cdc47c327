#!/usr/bin/env bash
# Remakes docs/report-*.png: the demo site's four report kinds, shot in headless Chromium.
#   bash docs/screenshots.sh [path/to/pagetrail]   (default: the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
P="$(realpath "${1:-${CARGO_TARGET_DIR:-target}/release/pagetrail}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && "$P" demo >/dev/null)
S="$work/data/demo/store"
user=$(jq -r '.cases[0].user' <("$P" --store "$S" --format json detect 2>/dev/null))
page=$("$P" --store "$S" --format json events --user "$user" --action view | jq -r 'select(.page_id != null) | .page_id' | head -1)
"$P" --store "$S" report --user "$user" --out "$work/user.html"
"$P" --store "$S" report --page "$page" --out "$work/page.html"
"$P" --store "$S" report --space RND --out "$work/space.html"
"$P" --store "$S" report --out "$work/site.html"
for k in user page space site; do
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$work/profile" \
    --virtual-time-budget=5000 --window-size=1280,1600 --screenshot="docs/report-$k.png" "file://$work/$k.html" 2>/dev/null
done
ls -l docs/report-*.png
