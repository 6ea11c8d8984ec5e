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

anchors_by_encoder = {"clip": find("transformers CLIP"), "lite0": find("PyTorch EfficientNet-Lite0")}
for e in r["embed"]:
    torch = anchors_by_encoder["clip" if e["encoder"].startswith("clip") else "lite0"]
    if torch and "images_per_s" in torch:
        anchor = f"{s(torch['images_per_s'])} img/s ({torch['anchor']})"
        ratio = f"**{e['images_per_s']['median'] / torch['images_per_s']['median']:.2f}×**"
    else:
        anchor, ratio = (torch or {}).get("skipped", "—"), "—"
    flops, goal = "", "≥ 1× PyTorch"
    if e.get("gflop_per_s"):
        peak = 100 * e["gflop_per_s"]["median"] / m["peak_gflop_per_s"]
        flops, goal = f" = {e['gflop_per_s']['median']:.0f} GFLOP/s, **{peak:.0f} % of peak**", goal + ", ≥ 40 % of peak"
    print(f"| embed {e['encoder']} ({e['weights']} weights), batch {e['batch']} | {s(e['images_per_s'])} img/s"
          f"{flops} | {anchor} | {ratio} | {goal} |")

for row in r.get("import", []):
    print(f"| import end to end with {row['encoder']}: {row['films']} films → {row['implants']} implants, "
          f"{row['threads']} threads | {s(row['films_per_s'])} films/s = {s(row['implants_per_s'])} implants/s "
          f"| — | — | — |")

for k in r["knn_local"]:
    f = find("faiss", vectors=k["vectors"])
    anchor = f"p95 {s(f['p95_ms'], 2)} ms (FAISS IndexFlatIP, 1 thread)" if f else "—"
    ratio = f"**{k['p95_ms']['median'] / f['p95_ms']['median']:.2f}×**" if f else "—"
    goal = "p95 ≤ 0.5× FAISS, recall ≥ 0.99" if k["vectors"] >= 100_000 else "—"
    print(f"| local kNN {k['vectors']} × {k['dim']} | p50 {s(k['p50_ms'], 2)} ms, p95 {s(k['p95_ms'], 2)} ms, "
          f"recall@10 {k['recall_at_10']:.4f} | {anchor} | {ratio} | {goal} |")

c = r.get("catalogue")
if c:
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
rc = find("rclone")
if rem.get("push"):
    p = rem["push"]
    measured = rc and "items_per_s" in rc
    up = (f"{rc['items_per_s']:.1f} items/s, {rc.get('mb_per_s', 0):.1f} MB/s, {rc.get('cpu_s', 0):.1f} CPU s "
          f"(rclone copy, 8 transfers)") if measured else (rc or {}).get("skipped", "—")
    upr = f"**{p['items_per_s']['median'] / rc['items_per_s']:.2f}×**" if measured else "—"
    print(f"| sync push, {p['items']} items ({p['failed']} failed), 8 in flight | {p['items_per_s']['median']:.1f} items/s, "
          f"{p.get('mb_per_s', 0):.1f} MB/s, {p.get('cpu_s', 0):.1f} CPU s | {up} | {upr} | ≥ 1× rclone |")
else:
    print(f"| sync push uploads | {rem['status']} | — | — | ≥ 1× rclone |")

sc = rem.get("scale")
if sc:
    for f in sc["fill"]:
        for how in ["execute_values", "executemany"] if f is sc["fill"][0] else []:
            pg = find(f"psycopg2 {how}")
            ok = pg and "rows_per_s" in pg
            anchor = f"{pg['rows_per_s']:.0f} rows/s (psycopg2 {how}, {pg['rows']} rows)" if ok else (pg or {}).get("skipped", "—")
            ratio = f"**{f['first_rows_per_s'] / pg['rows_per_s']:.2f}×**" if ok else "—"
            print(f"| row upserts, first {f['first_rows']} rows × {f['dim']}, {f['batch']} per transaction | "
                  f"{f['first_rows_per_s']:.0f} rows/s | {anchor} | {ratio} | ≥ 2× psycopg2 |")
        print(f"| row upserts, all {f['rows']} rows × {f['dim']} (no vector index yet) | {f['rows_per_s']:.0f} rows/s "
              f"| — | — | — |")
    for h in sc["hnsw"]:
        for e in h["search"]:
            print(f"| pgvector HNSW {h['rows']} × {h['dim']}, m={h['m']} ef_construction={h['ef_construction']} "
                  f"(build {h['build_s']:.0f} s, {h['index_mb']:.0f} MB), ef_search={e['ef_search']} | "
                  f"p50 {s(e['p50_ms'], 2)} ms, p95 {s(e['p95_ms'], 2)} ms, recall@10 {e['recall_at_10']:.3f} "
                  f"| exact scan, same rows | — | p95 < 5 ms at recall ≥ 0.95 |")
    d = sc.get("deleted")
    if d:
        print(f"| kNN with {d['deleted']} rows soft-deleted (not vacuumed), {d['live']} live | {d['short_results']} of "
              f"{d['queries']} queries short of k; recall@10 {d['recall_at_10']:.3f}; p95 {s(d['p95_ms'], 2)} ms "
              f"| exact scan of live rows | — | k live rows always |")
    pl = sc.get("pull")
    if pl:
        print(f"| pull {pl['rows']} rows into an empty library | {pl['seconds']:.0f} s = {pl['rows_per_s']:.0f} rows/s; "
              f"peak RSS {pl['peak_rss_mb']:.0f} MB (before {pl['rss_before_mb']:.0f} MB); catalogue "
              f"{pl['catalogue_mb']:.0f} MB | — | — | streamed in pages |")
    pc = sc.get("pulled_catalogue")
    if pc:
        print(f"| pulled catalogue: open / list / filter, {pc['items']} items | {s(pc['open_ms'])} / "
              f"{s(pc['list_ms'])} / {s(pc['filter_ms'])} ms | — | — | — |")
    pk = sc.get("pulled_knn")
    if pk:
        print(f"| pulled library, local kNN {pk['vectors']} × {pk['dim']} | p50 {s(pk['p50_ms'], 2)} ms, "
              f"p95 {s(pk['p95_ms'], 2)} ms, recall@10 {pk['recall_at_10']:.3f} | — | — | — |")
    print(f"\npgvector {sc['pgvector']} (iterative scan: {sc['iterative_scan']}); halfvec: {sc['halfvec']}; "
          f"rows built from {sc['base_vectors']} real embeddings.")
for e in rem.get("errors", []):
    print(f"\nproduction error: {e}")
