#!/usr/bin/env bash
# Side-by-side throughput of raiox's standardisation and the Pillow + OpenCV anchor, on the same
# synthetic files. Usage (from anywhere): benches/anchors/run_standardise.sh
#
# Steps: release build of the CLI and of the criterion bench (both before anything is timed, so
# compilation never overlaps a measurement); a venv under target/bench-venv with the anchor's deps;
# synthetic sets of 8 systems x 25 films at 400 px and 8 x 5 at 2000 px (`raiox synth`, fixed
# seed); the anchor on each set (one process, one thread); the bench executable over the same files
# (RAIOX_BENCH_DIR: `files/1-thread`, and `files/all-cores` with rayon). Prints a Markdown table
# and writes it, with the raw JSON, to target/bench-standardise/.
# The machine should be otherwise idle: the 1-minute load average before each set is recorded.
# Env: PYTHON (interpreter for the venv, default python3), ANCHOR_SECONDS (anchor run length, 5).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$TARGET/bench-standardise"
VENV="$TARGET/bench-venv"
SETS=("400 25" "2000 5") # film side in px, films per system (8 systems)
SEED=11

echo "== anchor venv ($VENV)" >&2
[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check pillow numpy opencv-python-headless
PY="$VENV/bin/python"

echo "== release build (CLI and bench)" >&2
cargo build --release --quiet
RAIOX="$TARGET/release/raiox"
# The bench executable itself, so that a source edit during the run cannot trigger a rebuild.
BENCH="$(cargo bench --bench standardise --no-run --message-format=json --quiet | "$PY" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "standardise" and m.get("executable"):
        print(m["executable"])')"

mkdir -p "$WORK"
: >"$WORK/results.jsonl"
for set in "${SETS[@]}"; do
    read -r size per_class <<<"$set"
    dir="$WORK/set-$size"
    echo "== synthesise $dir ($per_class per system, $size px)" >&2
    rm -rf "$dir"
    "$RAIOX" synth "$dir" --per-class "$per_class" --seed "$SEED" --size "$size" >&2
    load="$(cut -d' ' -f1 /proc/loadavg)"

    echo "== anchor on $dir (load average $load)" >&2
    OMP_NUM_THREADS=1 "$PY" benches/anchors/standardise_pillow.py "$dir" \
        --min-seconds "${ANCHOR_SECONDS:-5}" >"$WORK/anchor-$size.json"
    cat "$WORK/anchor-$size.json" >&2

    echo "== raiox on $dir (files/1-thread, files/all-cores)" >&2
    rm -rf "$WORK/criterion-$size"
    CRITERION_HOME="$WORK/criterion-$size" RAIOX_BENCH_DIR="$dir" "$BENCH" --bench '^files/' >&2

    "$PY" - "$size" "$WORK" "$load" >>"$WORK/results.jsonl" <<'EOF'
import json, os, sys
size, work, load = sys.argv[1:]
anchor = json.load(open(os.path.join(work, f"anchor-{size}.json")))
files = anchor["files"]  # same folder, same extension filter as the bench
def ips(bench):
    est = json.load(open(os.path.join(work, f"criterion-{size}", "files", bench, "new", "estimates.json")))
    return files / (est["mean"]["point_estimate"] * 1e-9)  # one iteration = the whole set
print(json.dumps({"size": int(size), "files": files, "anchor": anchor["images_per_s"],
                  "raiox_1": round(ips("1-thread"), 2), "raiox_all": round(ips("all-cores"), 2),
                  "cores": os.cpu_count(), "load_before": float(load)}))
EOF
done

"$PY" - "$WORK" <<'EOF' | tee "$WORK/results.md"
import json, os, sys
rows = [json.loads(l) for l in open(os.path.join(sys.argv[1], "results.jsonl"))]
cores = rows[0]["cores"]
print(f"| size (px) | files | anchor img/s (1 thread) | raiox img/s (1 thread) | raiox img/s ({cores} threads) "
      f"| ratio 1 thread | ratio {cores} threads | load avg before |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['size']} | {r['files']} | {r['anchor']:.1f} | {r['raiox_1']:.1f} | {r['raiox_all']:.1f} "
          f"| {r['raiox_1'] / r['anchor']:.2f}x | {r['raiox_all'] / r['anchor']:.2f}x | {r['load_before']:.2f} |")
EOF
