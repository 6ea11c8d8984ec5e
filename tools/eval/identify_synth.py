#!/usr/bin/env python3
"""Identification of held-out synthetic implants, per implant found in a film, as a user would run it.

Builds a library from `raiox synth` films (labelled from the generator's `labels.csv`, boxes included),
writes held-out films with another seed, runs `raiox identify FILM --json` on each, matches every implant
it found to the generator's true box (axis-aligned IoU >= 0.3) and reports the system top-1 of the first
candidate: over the true implants (a missed implant counts as wrong) and over the matched ones.
With `--learn` it then trains the library's head (`raiox learn`) and measures again: that second
figure is what a curator gets by default, since a labelled `raiox import` trains the same head.

    tools/eval/identify_synth.py RAIOX_BINARY [--kind restored] [--per-class 12] [--queries 10] [--learn]
"""
import argparse
import csv
import json
import os
import subprocess
import tempfile


def run(raiox, lib, *args):
    out = subprocess.run([raiox, "--library", lib, *args, "--json"], check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def measure(raiox, lib, qdir):
    truth = {}
    with open(os.path.join(qdir, "labels.csv")) as f:
        for row in csv.DictReader(f):
            box = tuple(float(row[k]) for k in ("x", "y", "w", "h"))
            truth.setdefault(row["path"], []).append((box, row["system"]))
    total = matched = right = 0
    for path, implants in sorted(truth.items()):
        found = run(raiox, lib, "identify", os.path.join(qdir, path))
        total += len(implants)
        for box, system in implants:
            best = max(found, key=lambda r: iou(box, tuple(r["box"][k] for k in "xywh")), default=None)
            if best is None or iou(box, tuple(best["box"][k] for k in "xywh")) < 0.3:
                continue
            matched += 1
            cands = best.get("candidates") or []
            right += bool(cands) and cands[0]["system"] == system
    return {"implants": total, "matched": matched, "top1_of_all": round(right / total, 3),
            "top1_of_matched": round(right / max(matched, 1), 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raiox")
    ap.add_argument("--kind", default="restored")
    ap.add_argument("--per-class", type=int, default=12)
    ap.add_argument("--queries", type=int, default=10, help="held-out films per system")
    ap.add_argument("--seed", type=int, default=1, help="library seed; queries use seed + 1")
    ap.add_argument("--learn", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lib, ldir, qdir = (os.path.join(tmp, n) for n in ("lib", "films", "queries"))
        subprocess.run([a.raiox, "synth", ldir, "--kind", a.kind, "--per-class", str(a.per_class),
                        "--seed", str(a.seed)], check=True, capture_output=True)
        subprocess.run([a.raiox, "synth", qdir, "--kind", a.kind, "--per-class", str(a.queries),
                        "--seed", str(a.seed + 1)], check=True, capture_output=True)
        # `--no-learn`: first the encoder's own vectors; a plain labelled import would already have
        # trained the head that `--learn` measures below.
        run(a.raiox, lib, "import", "--labels", os.path.join(ldir, "labels.csv"), "--no-learn")
        labelled = sum(1 for i in run(a.raiox, lib, "list") if i["status"] != "unlabelled")
        report = {"kind": a.kind, "per_class": a.per_class, "labelled": labelled,
                  "frozen": measure(a.raiox, lib, qdir)}
        if a.learn:
            learned = run(a.raiox, lib, "learn")[0]
            report["head_active"] = learned["active"]
            report["with_head"] = measure(a.raiox, lib, qdir)
        print(json.dumps(report))


if __name__ == "__main__":
    main()
