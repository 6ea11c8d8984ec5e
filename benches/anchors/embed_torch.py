"""PyTorch anchors for embedding, on the same standardised images and threads as `raiox bench`:

* CLIP ViT-B/32 image tower (transformers `CLIPVisionModelWithProjection`, random weights of the real
  architecture: speed does not depend on the values, and no download);
* EfficientNet-Lite0 with raiox's bundled weights (models/efficientnet-lite0/model.safetensors) in
  the reference model code the weights were converted for (`efficientnet-lite-pytorch`), forward up
  to the global average pool, as raiox embeds.

pip install torch transformers efficientnet-lite-pytorch==0.1.0 safetensors pillow numpy
python benches/anchors/embed_torch.py [IMAGES_DIR] [--threads N] [--repeats 5] [--models clip,lite0]
IMAGES_DIR: the standardised PNGs `raiox bench` embeds (DATA/inputs/embed), one batch of all of them
per call, as raiox does; without it, a random batch of 16. One JSON line per model; FLOP counts are
2 per multiply-add (ViT-B/32: 4.41 G multiply-adds per image).
"""
import argparse
import glob
import json
import os
import time

import numpy as np
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIP_GFLOP_PER_IMAGE = 2 * 4.41

parser = argparse.ArgumentParser()
parser.add_argument("images", nargs="?")
parser.add_argument("--threads", type=int, default=os.cpu_count())
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--models", default="clip,lite0")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


def gray_batch():
    """The images as (n, 224, 224) floats in 0..255 (random when no folder is given)."""
    if not args.images:
        return np.random.default_rng(0).uniform(0, 255, (16, 224, 224)).astype(np.float32)
    paths = sorted(glob.glob(os.path.join(args.images, "*.png")))
    return np.stack([np.asarray(Image.open(p).convert("L").resize((224, 224)), np.float32) for p in paths])


def timed(name, model, batch, gflop_per_image=None, **extra):
    """Images/s of `model(batch)` over the repeats after one warm-up call, as one JSON line."""
    runs = []
    with torch.inference_mode():
        model(batch)
        for _ in range(args.repeats):
            start = time.perf_counter()
            model(batch)
            runs.append(len(batch) / (time.perf_counter() - start))
    runs.sort()
    ips = {"median": runs[len(runs) // 2], "min": runs[0], "max": runs[-1], "runs": len(runs)}
    line = {"anchor": f"{name}, {args.threads} threads, batch {len(batch)}", "torch": torch.__version__,
            "images_per_s": ips, **extra}
    if gflop_per_image:
        line["gflop_per_s"] = ips["median"] * gflop_per_image
    print(json.dumps(line), flush=True)


def clip(gray):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    mean = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)[None, :, None, None]
    std = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)[None, :, None, None]
    batch = torch.from_numpy((np.repeat(gray[:, None] / 255.0, 3, axis=1) - mean) / std)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(projection_dim=512)).eval()
    timed("transformers CLIP ViT-B/32", lambda x: model(pixel_values=x).image_embeds, batch,
          CLIP_GFLOP_PER_IMAGE)


def lite0(gray):
    from efficientnet_lite_pytorch import EfficientNet
    from safetensors.torch import load_file

    model = EfficientNet.from_name("efficientnet-lite0")
    weights = os.path.join(ROOT, "models", "efficientnet-lite0", "model.safetensors")
    model.load_state_dict(load_file(weights), strict=False)
    model.eval()
    batch = torch.from_numpy(np.repeat(((gray - 127.0) / 128.0)[:, None], 3, axis=1))
    timed("PyTorch EfficientNet-Lite0", lambda x: model._avg_pooling(model.extract_features(x)).flatten(1),
          batch, weights="bundled")


gray = gray_batch()
for name in args.models.split(","):
    try:
        {"clip": clip, "lite0": lite0}[name](gray)
    except ImportError as e:
        print(json.dumps({"anchor": {"clip": "transformers CLIP", "lite0": "PyTorch EfficientNet-Lite0"}[name],
                          "skipped": f"not installed: {e.name}"}), flush=True)
