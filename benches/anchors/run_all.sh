#!/usr/bin/env bash
# One command for the whole comparison: `raiox bench` and every anchor on the same files, then the
# ratios. Usage (from anywhere):
#
#   benches/anchors/run_all.sh [--scale 10k|100k] [--torch] [--remote]
#
#   --scale   run size passed to `raiox bench` (default 10k: minutes; the first run builds and
#             caches a 10 000-film library under DATA).
#   --torch   also install torch, transformers and efficientnet-lite-pytorch and run the
#             CLIP and Lite0 anchors. Off by default: torch is
#             large (PyPI's Linux wheel brings the CUDA libraries, several GB; TORCH_INDEX=
#             https://download.pytorch.org/whl/cpu takes the CPU-only build instead). Already
#             installed in the venv, it is used without the flag.
#   --remote  also measure production (`raiox bench --remote`) and run the rclone/psycopg2
#             anchors; needs SPACES_* and DATABASE_URL pointing at a staging server (synthetic items
#             are written there). Without them those rows say "not configured".
#   --remote-only  the same, skipping raiox's local measurements and the local anchors.
#
# Env: DATA (inputs, cache and results; default target/bench-data/raiox-bench), PYTHON (venv
# interpreter, default python3), RAIOX_BIN (a prebuilt raiox instead of `cargo build --release`),
# TORCH_INDEX (a pip index for torch instead of PyPI).
# Writes DATA/raiox.json, DATA/anchors.jsonl and DATA/ratios.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DATA="${DATA:-$TARGET/bench-data/raiox-bench}"
VENV="$TARGET/bench-venv"
SCALE=10k
TORCH=0
REMOTE=()
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) SCALE="$2"; shift 2 ;;
        --torch) TORCH=1; shift ;;
        --remote) REMOTE=(--remote); shift ;;
        --remote-only) REMOTE=(--remote-only); shift ;;
        *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done

echo "== anchor venv ($VENV)" >&2
[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --disable-pip-version-check pillow numpy opencv-python-headless faiss-cpu psycopg2-binary
if [ "$TORCH" = 1 ]; then
        INDEX=()
    [ -n "${TORCH_INDEX:-}" ] && INDEX=(--index-url "$TORCH_INDEX")
    "$PY" -m pip install --quiet --disable-pip-version-check "${INDEX[@]}" torch
    "$PY" -m pip install --quiet --disable-pip-version-check transformers safetensors \
        efficientnet-lite-pytorch==0.1.0
fi
if [ ${#REMOTE[@]} -gt 0 ] && ! command -v rclone >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -q rclone >&2 || true
    fi
    command -v rclone >/dev/null ||
        echo "rclone is not installed: apt-get install rclone (the upload anchor will be skipped)" >&2
fi

if [ -n "${RAIOX_BIN:-}" ]; then
    RAIOX="$RAIOX_BIN"
else
    echo "== release build" >&2
    cargo build --release --quiet --bin raiox
    RAIOX="$TARGET/release/raiox"
fi

mkdir -p "$DATA"
echo "== raiox bench --scale $SCALE (inputs under $DATA)" >&2
"$RAIOX" bench --scale "$SCALE" --data "$DATA" "${REMOTE[@]}" --json >"$DATA/raiox.json"

: >"$DATA/anchors.jsonl"
if [ "${REMOTE[0]:-}" != --remote-only ]; then
    echo "== Pillow + OpenCV standardisation on $DATA/inputs/standardise" >&2
    OMP_NUM_THREADS=1 "$PY" benches/anchors/standardise_pillow.py "$DATA/inputs/standardise" --min-seconds 5 |
        tee -a "$DATA/anchors.jsonl" >&2
    echo "== FAISS IndexFlatIP on $DATA/inputs/knn" >&2
    "$PY" benches/anchors/search_faiss.py "$DATA/inputs/knn" | tee -a "$DATA/anchors.jsonl" >&2
    if "$PY" -c "import torch" 2>/dev/null; then
        echo "== PyTorch CLIP and Lite0 on $DATA/inputs/embed" >&2
        "$PY" benches/anchors/embed_torch.py "$DATA/inputs/embed" --threads "$(nproc)" |
            tee -a "$DATA/anchors.jsonl" >&2
    else
        for name in "transformers CLIP" "PyTorch EfficientNet-Lite0"; do
            echo "{\"anchor\": \"$name\", \"skipped\": \"torch not installed: rerun with --torch\"}" |
                tee -a "$DATA/anchors.jsonl" >&2
        done
    fi
fi
echo "== rclone + psycopg2 on $DATA/inputs/sync" >&2
"$PY" benches/anchors/sync_anchors.py "$DATA/inputs/sync" | tee -a "$DATA/anchors.jsonl" >&2

"$PY" benches/anchors/ratios.py "$DATA/raiox.json" "$DATA/anchors.jsonl" | tee "$DATA/ratios.md"
