"""FAISS IndexFlatIP anchor for local kNN: same vectors, same queries, one thread.

pip install faiss-cpu numpy
Reads every `vectors_<n>.f32` and `queries.f32` (little-endian f32 rows of 512) in DATA, written by
`raiox bench` (DATA/inputs/knn, the folder it prints) or `cargo bench --bench search`
(target/bench-data, the default). Like raiox, it takes p50 and p95 over the queries in each of
--repeats runs and prints their median, min and max, one JSON line per size.
"""
import argparse
import glob
import json
import os
import re
import time

import faiss
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("data", nargs="?", default="target/bench-data")
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--dim", type=int, default=512)
args = parser.parse_args()

faiss.omp_set_num_threads(1)
queries = np.fromfile(os.path.join(args.data, "queries.f32"), dtype="<f4").reshape(-1, args.dim)
sizes = sorted(int(re.search(r"vectors_(\d+)\.f32$", p).group(1)) for p in glob.glob(os.path.join(args.data, "vectors_*.f32")))


def stats(xs):
    xs = sorted(xs)
    return {"median": xs[len(xs) // 2], "min": xs[0], "max": xs[-1], "runs": len(xs)}


for n in sizes:
    xb = np.fromfile(os.path.join(args.data, f"vectors_{n}.f32"), dtype="<f4").reshape(-1, args.dim)
    index = faiss.IndexFlatIP(args.dim)
    index.add(xb)
    for q in queries:  # warm-up, as raiox does
        index.search(q.reshape(1, -1), 10)
    p50s, p95s = [], []
    for _ in range(args.repeats):
        times = []
        for q in queries:
            t = time.perf_counter()
            index.search(q.reshape(1, -1), 10)
            times.append((time.perf_counter() - t) * 1e3)
        times.sort()
        p50s.append(times[int(round((len(times) - 1) * 0.5))])
        p95s.append(times[int(round((len(times) - 1) * 0.95))])
    print(json.dumps({"anchor": "faiss IndexFlatIP, 1 thread", "faiss": faiss.__version__, "vectors": n,
                      "p50_ms": stats(p50s), "p95_ms": stats(p95s)}))
