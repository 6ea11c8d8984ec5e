"""PyTorch/transformers anchor for `cargo bench --bench embed`: CLIP ViT-B/32 image tower, random
weights of the real architecture (no download), 2 threads, batch 16, images/s and GFLOP/s.

pip install torch transformers
"""
import json
import time

import torch
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

torch.set_num_threads(2)
torch.manual_seed(0)
model = CLIPVisionModelWithProjection(CLIPVisionConfig(projection_dim=512)).eval()
batch = torch.randn(16, 3, 224, 224)
with torch.inference_mode():
    model(pixel_values=batch)
    rounds, start = 3, time.perf_counter()
    for _ in range(rounds):
        model(pixel_values=batch).image_embeds
    ips = 16 * rounds / (time.perf_counter() - start)
print(json.dumps({"anchor": "transformers CLIP ViT-B/32, 2 threads, batch 16", "images_per_s": round(ips, 1), "gflops": round(ips * 4.4, 1)}))
