#!/usr/bin/env bash
# Screenshots of the real Raiox Studio window for the README.
#
# Builds the release binary, makes a demo library (`raiox demo`), then opens the window once per
# screen under a virtual X server (Xvfb, Mesa software OpenGL). Each run sets RAIOX_SCREENSHOT so
# the app sets up that screen, waits until its jobs and thumbnails are done, saves the frame as PNG
# and closes. Output: docs/screenshots/*.png.
#
# Needs: xvfb and Mesa (Debian/Ubuntu: apt-get install -y xvfb libgl1-mesa-dri libegl1).
set -euo pipefail
cd "$(dirname "$0")/.."

out=docs/screenshots
work=${RAIOX_SCREENSHOT_WORK:-target/screenshots}
mkdir -p "$out" "$work"

# RAIOX_BIN: use an already built binary instead of building the release one.
bin=${RAIOX_BIN:-target/release/raiox}
[ -n "${RAIOX_BIN:-}" ] || cargo build --release --bin raiox

lib="$work/library"
if [ ! -f "$lib/library.db" ]; then
    "$bin" --library "$lib" demo --per-class 6 --synth-dir "$work/synth" >/dev/null
    # A few unlabelled films so the grid shows all three statuses.
    "$bin" synth "$work/extra" --per-class 1 --seed 21 --size 400 >/dev/null
    "$bin" --library "$lib" import "$work/extra/Neodent" >/dev/null
    "$bin" --library "$lib" label 1 2 3 --confirm >/dev/null
fi
# An X-ray that is not in the library, to identify; a folder to show an import.
"$bin" synth "$work/outside" --per-class 1 --seed 77 --size 400 >/dev/null
query=$(find "$work/outside/Straumann/Bone Level Tapered" -name '*.png' | head -1)
rm -rf "$work/import-lib"

export LIBGL_ALWAYS_SOFTWARE=1
# No persisted state from earlier runs: every screenshot starts from the same defaults.
export XDG_DATA_HOME="$work/xdg"

shoot() { # name view [input] [library]
    local name=$1 view=$2 input=${3:-} library=${4:-$lib}
    echo "screenshot: $name"
    RAIOX_SCREENSHOT="$out/$name.png" RAIOX_SCREENSHOT_VIEW="$view" RAIOX_SCREENSHOT_INPUT="$input" \
        timeout 300 xvfb-run -a -s "-screen 0 1440x900x24" "$bin" --library "$library" gui
    test -s "$out/$name.png"
}

shoot library library
shoot label label
shoot inspect inspect
shoot similar similar
shoot identify identify "$query"
shoot import import "$work/outside" "$work/import-lib"
shoot review review
shoot map map
echo "done: $(ls "$out")"
