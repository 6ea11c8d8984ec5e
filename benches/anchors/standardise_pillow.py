#!/usr/bin/env python3
# Anchor for `benches/standardise.rs`: the standardisation a user would otherwise write by hand.
#
#   pip install pillow numpy opencv-python-headless
#   python benches/anchors/standardise_pillow.py FOLDER [--min-seconds 3] [--out OUTDIR]
#
# Same steps as raiox's pipeline, with the usual tools: Pillow decode + grayscale, numpy 0.5/99.5
# percentile stretch, a simple bright-region crop (threshold at the 98th percentile, largest
# connected component via cv2.connectedComponentsWithStats, margin 15 % of the long side), Pillow
# LANCZOS resize of the crop to fit 224 px, OpenCV CLAHE (clip 2.0, 8x8 tiles), pad to 224x224 with
# black, PNG save. Everything at full resolution (no thumbnail) and no film-polarity detection:
# that is what the straightforward version looks like.
#
# Timing matches the Rust side (`RAIOX_BENCH_DIR` in benches/standardise.rs): every file is read
# into memory first, then decode -> PNG bytes is timed per image, single thread, one process,
# passing over the set until --min-seconds have elapsed. Prints one JSON line with images/s.
import argparse
import io
import json
import os
import platform
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import PIL  # noqa: E402
from PIL import Image  # noqa: E402

SIZE = 224
EXTENSIONS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}

cv2.setNumThreads(1)
CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


def standardise(data: bytes) -> bytes:
    """One file's bytes to the 224x224 8-bit PNG bytes."""
    img = Image.open(io.BytesIO(data))
    img.load()
    if img.mode not in ("L", "I;16", "I;16B", "I"):
        img = img.convert("L")
    arr = np.asarray(img)
    lo, hi = np.percentile(arr, [0.5, 99.5])
    span = max(float(hi - lo), 1.0)
    gray = (np.clip((arr.astype(np.float32) - lo) / span, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

    h, w = gray.shape
    x0, y0, x1, y1 = 0, 0, w, h
    threshold = np.percentile(gray, 98)
    mask = (gray >= max(threshold, 1)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    if count > 1:
        best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        bx, by, bw, bh = (int(v) for v in stats[best, :4])
        margin = 0.15 * max(bw, bh)
        x0, y0 = max(int(bx - margin), 0), max(int(by - margin), 0)
        x1, y1 = min(int(bx + bw + margin + 0.999), w), min(int(by + bh + margin + 0.999), h)

    crop = Image.fromarray(gray).crop((x0, y0, x1, y1))
    fit = SIZE / max(x1 - x0, y1 - y0)
    rw = min(max(round((x1 - x0) * fit), 1), SIZE)
    rh = min(max(round((y1 - y0) * fit), 1), SIZE)
    resized = np.asarray(crop.resize((rw, rh), Image.LANCZOS))
    equalised = CLAHE.apply(np.ascontiguousarray(resized))

    padded = np.zeros((SIZE, SIZE), np.uint8)
    top, left = (SIZE - rh) // 2, (SIZE - rw) // 2
    padded[top : top + rh, left : left + rw] = equalised
    out = io.BytesIO()
    Image.fromarray(padded).save(out, format="PNG")
    return out.getvalue()


def image_files(folder: str) -> list:
    found = []
    for root, _, names in os.walk(folder):
        found += [os.path.join(root, n) for n in names if os.path.splitext(n)[1].lower() in EXTENSIONS]
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description="Time the Pillow + OpenCV standardisation anchor.")
    parser.add_argument("folder")
    parser.add_argument("--min-seconds", type=float, default=3.0, help="keep passing over the set this long")
    parser.add_argument("--out", help="also write each standardised PNG here (once, untimed)")
    args = parser.parse_args()

    paths = image_files(args.folder)
    if not paths:
        print(f"no image files under {args.folder}", file=sys.stderr)
        return 1
    blobs = []
    for path in paths:
        with open(path, "rb") as f:
            blobs.append(f.read())

    for blob in blobs[: min(len(blobs), 5)]:  # warm-up: imports, allocator, CPU caches
        standardise(blob)
    images, passes, start = 0, 0, time.perf_counter()
    while True:
        for blob in blobs:
            standardise(blob)
        images += len(blobs)
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= args.min_seconds:
            break

    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for path, blob in zip(paths, blobs):
            name = os.path.relpath(path, args.folder).replace(os.sep, "_")
            with open(os.path.join(args.out, os.path.splitext(name)[0] + ".png"), "wb") as f:
                f.write(standardise(blob))

    print(
        json.dumps(
            {
                "anchor": "pillow+numpy+opencv",
                "folder": args.folder,
                "files": len(blobs),
                "passes": passes,
                "images": images,
                "seconds": round(elapsed, 4),
                "images_per_s": round(images / elapsed, 2),
                "threads": 1,
                "python": platform.python_version(),
                "pillow": PIL.__version__,
                "numpy": np.__version__,
                "opencv": cv2.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
