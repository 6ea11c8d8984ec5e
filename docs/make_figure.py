"""Make docs/standardise.png: originals beside their standardised model inputs, from a real library.

Usage: python3 docs/make_figure.py LIBRARY_DIR  (after `raiox --library LIBRARY_DIR demo`; needs Pillow)
"""
import glob
import json
import subprocess
import sys

from PIL import Image

library = sys.argv[1]
out = subprocess.run(["target/release/raiox", "--library", library, "list", "--json"],
                     capture_output=True, text=True, check=True).stdout
records = [json.loads(line) for line in out.splitlines()]
picked, seen = [], set()
for r in records:
    if r["system"] not in seen:
        seen.add(r["system"])
        picked.append(r)
tile = 224
sheet = Image.new("L", (4 * 2 * tile + 3 * 16, 2 * tile + 16), 255)
for i, r in enumerate(picked[:8]):
    original = glob.glob(f"{library}/originals/{r['sha256'][:2]}/{r['sha256']}.*")[0]
    o = Image.open(original).convert("L").resize((tile, tile))
    s = Image.open(f"{library}/standard/{r['standard_sha256'][:2]}/{r['standard_sha256']}.png")
    x, y = (i % 4) * (2 * tile + 16), (i // 4) * (tile + 16)
    sheet.paste(o, (x, y))
    sheet.paste(s, (x + tile, y))
sheet.save("docs/standardise.png", optimize=True)
