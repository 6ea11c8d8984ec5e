"""FAISS IndexFlatIP anchor for `cargo bench --bench search`: same vectors, same queries, one thread.

pip install faiss-cpu numpy
Run after `cargo bench --bench search` (which writes target/bench-data/).
"""
import json
import sys
import time

import faiss
import numpy as np

faiss.omp_set_num_threads(1)
data = "target/bench-data"
dim = 512
queries = np.fromfile(f"{data}/queries.f32", dtype="<f4").reshape(-1, dim)
for n in (10_000, 100_000):
    try:
        xb = np.fromfile(f"{data}/vectors_{n}.f32", dtype="<f4").reshape(-1, dim)
    except FileNotFoundError:
        print(f"missing {data}/vectors_{n}.f32: run `cargo bench --bench search` first", file=sys.stderr)
        continue
    index = faiss.IndexFlatIP(dim)
    index.add(xb)
    times = []
    for q in queries:
        t = time.perf_counter()
        index.search(q.reshape(1, -1), 10)
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    p50, p95 = times[len(times) // 2], times[int(round((len(times) - 1) * 0.95))]
    print(json.dumps({"anchor": "faiss IndexFlatIP, 1 thread", "vectors": n, "p50_ms": round(p50, 3), "p95_ms": round(p95, 3)}))
