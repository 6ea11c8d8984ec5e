#!/usr/bin/env python3
"""Does a head learned from labels that contain mistakes help the review queue find them?

Copies a labelled library, flips a seeded share of its labels to another system of the library
(for real, with `raiox label`, so the head is trained on the mistakes too), then reports the share
of flipped labels among the first 2 × flipped entries of `raiox review`, without and with the head
`raiox learn` trains on the flipped library.

    tools/eval/review_with_head.py RAIOX_BINARY LIBRARY [--fraction 0.05] [--seed 1]
"""
import argparse
import json
import random
import shutil
import subprocess
import tempfile
from collections import defaultdict


def run(raiox, lib, *args):
    out = subprocess.run([raiox, "--library", lib, *args, "--json"], check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def recall(raiox, lib, flipped):
    queue = [e for e in run(raiox, lib, "review", "--limit", "1000000") if e["kind"] == "mislabel"]
    first = {e["id"] for e in queue[: 2 * len(flipped)]}
    return len(first & flipped) / len(flipped), len(queue)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raiox")
    ap.add_argument("library")
    ap.add_argument("--fraction", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lib = f"{tmp}/lib"
        shutil.copytree(a.library, lib)
        run(a.raiox, lib, "learn", "--off")
        items = [i for i in run(a.raiox, lib, "list") if i["status"] != "unlabelled"]
        systems = sorted({(i["manufacturer"], i["system"]) for i in items})
        rng = random.Random(a.seed)
        victims = rng.sample(items, round(len(items) * a.fraction))
        by_target = defaultdict(list)
        for v in victims:
            others = [s for s in systems if s != (v["manufacturer"], v["system"])]
            by_target[rng.choice(others)].append(str(v["id"]))
        for (m, s), ids in by_target.items():
            run(a.raiox, lib, "label", *ids, "--manufacturer", m, "--system", s)
        flipped = {v["id"] for v in victims}
        without, queue_without = recall(a.raiox, lib, flipped)
        report = run(a.raiox, lib, "learn")[0]
        with_head, queue_with = recall(a.raiox, lib, flipped)
        print(json.dumps({
            "labelled": len(items), "flipped": len(flipped), "seed": a.seed,
            "recall_at_twice_without_head": round(without, 3), "queue_without_head": queue_without,
            "head_active": report["active"],
            "held_out_top1": [report["before"]["system_top1"], report["after"]["system_top1"]],
            "recall_at_twice_with_head": round(with_head, 3), "queue_with_head": queue_with,
        }))


if __name__ == "__main__":
    main()
