"""Side-by-side table of `raiox bench --json` and the anchors' JSON lines, with ratios and goals.

python benches/anchors/ratios.py DATA/raiox.json DATA/anchors.jsonl   (run_all.sh does this)
Prints Markdown (the table in docs/BENCHMARKS.md).
"""
import json
import sys

r = json.load(open(sys.argv[1]))
anchors = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]


def find(prefix, **match):
    """The last matching anchor line that has figures, else the last one saying why it was skipped."""
    found = [a for a in anchors if a.get("anchor", "").startswith(prefix) and all(a.get(k) == v for k, v in match.items())]
    measured = [a for a in found if "skipped" not in a]
    return (measured or found or [None])[-1]


def s(st, digits=1):
    return f"{st['median']:.{digits}f} ({st['min']:.{digits}f}–{st['max']:.{digits}f})"


m = r["machine"]
print(f"Machine: {m['cpu']} ({m['vendor']}), {m['cores']} cores, {m['simd']}, {m['mhz']:.0f} MHz, "
      f"{m['ram_gib']:.1f} GiB RAM. Date: {r['date']}. Scale: {r['scale']} ({r['plan']['items']} items).")
print(f"Limits: peak ≈ {m['peak_gflop_per_s']:.0f} GFLOP/s f32; copy bandwidth {s(m['copy_gb_per_s'])} GB/s.")
print()
print("Figures are median (min–max) over repeated runs.")
print()
print("| measurement | raiox | anchor | ratio | goal |")
print("|---|---|---|---|---|")

pil = find("pillow")
for row in r["standardise"]:
    ratio = f"**{row['images_per_s']['median'] / pil['images_per_s']:.1f}×**" if pil else "—"
    anchor = f"{pil['images_per_s']:.1f} img/s (Pillow + OpenCV, 1 thread)" if pil else "—"
    print(f"| standardise {row['px']} px, {row['files']} files, {row['threads']} thread(s) | "
          f"{s(row['images_per_s'])} img/s | {anchor} | {ratio} | ≥ 3× |")

torch = find("transformers CLIP")
for e in r["embed"]:
    if e["encoder"].startswith("clip"):
        peak = 100 * e["gflop_per_s"]["median"] / m["peak_gflop_per_s"]
        if torch and "images_per_s" in torch:
            anchor = f"{s(torch['images_per_s'])} img/s ({torch['anchor']})"
            ratio = f"**{e['images_per_s']['median'] / torch['images_per_s']['median']:.2f}×**"
        else:
            anchor, ratio = (torch or {}).get("skipped", "—"), "—"
        print(f"| embed {e['encoder']} ({e['weights']} weights), batch {e['batch']} | {s(e['images_per_s'])} img/s "
              f"= {e['gflop_per_s']['median']:.0f} GFLOP/s, **{peak:.0f} % of peak** | {anchor} | {ratio} "
              f"| ≥ 1× PyTorch, ≥ 40 % of peak |")
    else:
        print(f"| embed {e['encoder']} ({e['weights']} weights), batch {e['batch']} | {s(e['images_per_s'])} img/s "
              f"| — | — | — |")

for k in r["knn_local"]:
    f = find("faiss", vectors=k["vectors"])
    anchor = f"p95 {s(f['p95_ms'], 2)} ms (FAISS IndexFlatIP, 1 thread)" if f else "—"
    ratio = f"**{k['p95_ms']['median'] / f['p95_ms']['median']:.2f}×**" if f else "—"
    goal = "p95 ≤ 0.5× FAISS, recall ≥ 0.99" if k["vectors"] >= 100_000 else "—"
    print(f"| local kNN {k['vectors']} × {k['dim']} | p50 {s(k['p50_ms'], 2)} ms, p95 {s(k['p95_ms'], 2)} ms, "
          f"recall@10 {k['recall_at_10']:.4f} | {anchor} | {ratio} | {goal} |")

c = r["catalogue"]
print(f"| catalogue: open a {c['items']}-item library | {s(c['open_ms'])} ms | — | — | — |")
print(f"| catalogue: list {c['items']} records | {s(c['list_ms'])} ms | — | — | — |")
print(f"| catalogue: filter (labelled, one manufacturer: {c['filtered']}) | {s(c['filter_ms'])} ms | — | — | — |")

rem = r["remote"]
if rem.get("knn"):
    k = rem["knn"]
    print(f"| remote kNN (pgvector HNSW), {k['vectors']} rows × {k['dim']} | p50 {s(k['p50_ms'], 2)} ms, "
          f"p95 {s(k['p95_ms'], 2)} ms, recall@10 {k['recall_at_10']:.4f} | — | — | p95 < 5 ms, recall ≥ 0.95 |")
else:
    print(f"| remote kNN (pgvector HNSW) | {rem['status']} | — | — | p95 < 5 ms, recall ≥ 0.95 |")
rc, pg = find("rclone"), find("psycopg2")
if rem.get("push"):
    p = rem["push"]
    up = f"{rc['items_per_s']:.1f} items/s (rclone)" if rc and "items_per_s" in rc else (rc or {}).get("skipped", "—")
    upr = f"**{p['items_per_s']['median'] / rc['items_per_s']:.2f}×**" if rc and "items_per_s" in rc else "—"
    rows = f"{pg['rows_per_s']:.0f} rows/s (psycopg2)" if pg and "rows_per_s" in pg else (pg or {}).get("skipped", "—")
    rowr = f"**{p['rows_per_s']['median'] / pg['rows_per_s']:.2f}×**" if pg and "rows_per_s" in pg else "—"
    print(f"| sync push uploads, {p['items']} items ({p['failed']} failed) | {p['items_per_s']['median']:.1f} items/s "
          f"| {up} | {upr} | ≥ 1× rclone |")
    print(f"| sync push row upserts | {p['rows_per_s']['median']:.0f} rows/s | {rows} | {rowr} | ≥ 2× psycopg2 |")
else:
    print(f"| sync push uploads | {rem['status']} | — | — | ≥ 1× rclone |")
    print(f"| sync push row upserts | {rem['status']} | — | — | ≥ 2× psycopg2 |")
for e in rem.get("errors", []):
    print(f"\nproduction error: {e}")
