"""PyTorch/transformers anchor for CLIP embedding: the ViT-B/32 image tower with random weights
of the real architecture (no download; speed does not depend on the values), all cores, images/s
and GFLOP/s at 4.4 GFLOP per image.

pip install torch transformers pillow numpy
python benches/anchors/clip_torch.py [IMAGES_DIR] [--threads N] [--repeats 3]
IMAGES_DIR: the standardised PNGs `raiox bench` embeds (DATA/inputs/embed); one batch of all of
them per call, as raiox does. Without it, a random batch of 16.
"""
import argparse
import glob
import json
import os
import time

import numpy as np
import torch
from PIL import Image
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

parser = argparse.ArgumentParser()
parser.add_argument("images", nargs="?")
parser.add_argument("--threads", type=int, default=os.cpu_count())
parser.add_argument("--repeats", type=int, default=3)
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
model = CLIPVisionModelWithProjection(CLIPVisionConfig(projection_dim=512)).eval()
if args.images:
    mean = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)[:, None, None]
    std = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)[:, None, None]
    arrays = []
    for path in sorted(glob.glob(os.path.join(args.images, "*.png"))):
        gray = np.asarray(Image.open(path).convert("L").resize((224, 224)), np.float32) / 255.0
        arrays.append((np.repeat(gray[None], 3, axis=0) - mean) / std)
    batch = torch.from_numpy(np.stack(arrays))
else:
    batch = torch.randn(16, 3, 224, 224)
runs = []
with torch.inference_mode():
    model(pixel_values=batch)
    for _ in range(args.repeats):
        start = time.perf_counter()
        model(pixel_values=batch).image_embeds
        runs.append(len(batch) / (time.perf_counter() - start))
runs.sort()
ips = {"median": runs[len(runs) // 2], "min": runs[0], "max": runs[-1], "runs": len(runs)}
print(json.dumps({"anchor": f"transformers CLIP ViT-B/32, {args.threads} threads, batch {len(batch)}",
                  "torch": torch.__version__, "images_per_s": ips, "gflop_per_s": ips["median"] * 4.4}))
