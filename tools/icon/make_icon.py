#!/usr/bin/env python3
"""Draw the window icon, assets/icon.png: a bright threaded implant fixture, apex down, on a dark
radiograph-like rounded square. Standard library only, deterministic; run from the repository root:

    python3 tools/icon/make_icon.py assets/icon.png
"""
import math
import struct
import sys
import zlib

SIZE = 128


def inside_rounded_square(x, y, r=22):
    cx = min(max(x, r), SIZE - 1 - r)
    cy = min(max(y, r), SIZE - 1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def implant_alpha(x, y):
    """Coverage of the fixture at pixel (x, y): a collar, a tapered threaded body, a rounded apex."""
    top, bottom = 22.0, 108.0
    if y < top or y > bottom:
        return 0.0
    t = (y - top) / (bottom - top)
    half = 17.0 - 7.0 * t  # tapered body
    if y < top + 8:  # collar, a little wider, no threads
        half = 19.0
    elif y > bottom - 10:  # rounded apex
        d = (y - (bottom - 10)) / 10.0
        half *= math.sqrt(max(0.0, 1.0 - d * d))
    else:  # threads: a saw-tooth profile on both flanks
        phase = ((y - top - 8) / 7.0) % 1.0
        half += 4.0 * (1.0 - abs(2.0 * phase - 1.0))
    return max(0.0, min(1.0, half - abs(x - SIZE / 2.0) + 0.5))


def pixel(x, y):
    if not inside_rounded_square(x, y):
        return (0, 0, 0, 0)
    # A dark bone-grey film, lighter towards the centre.
    d = math.hypot(x - SIZE / 2, y - SIZE / 2) / (SIZE / 2)
    base = 38 + int(30 * max(0.0, 1.0 - d))
    a = implant_alpha(x, y)
    v = int(base * (1 - a) + 242 * a)
    return (v, v, min(255, v + 8), 255)


def png(width, height, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(c for p in row for c in p) for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "assets/icon.png"
    rows = [[pixel(x, y) for x in range(SIZE)] for y in range(SIZE)]
    with open(out, "wb") as f:
        f.write(png(SIZE, SIZE, rows))
    print(f"wrote {out}")
