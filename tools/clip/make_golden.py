#!/usr/bin/env python3
"""Golden fixtures for the CLIP image tower (src/embed/clip.rs), computed by transformers.

Why: the Rust encoder must produce the same vectors as `CLIPModel.get_image_features` (the reference
every published CLIP result uses). A real ViT-B/32 checkpoint is 600 MB and cannot be downloaded here,
so this builds a TINY random CLIP vision tower with the very same code path and file layout, and
records what it computes for a few deterministic gray test images. No number in the fixtures is typed
by hand. The script checks its own premises (saved key names, the processor being an identity at the
config's size, CLIPModel giving the same vectors) and fails if one does not hold.

Writes, under tests/fixtures/embed/clip/ (run from the repository root):
  tiny/model.safetensors, tiny/config.json   CLIPVisionModelWithProjection.save_pretrained (HF layout)
  full-config.json                           the same vision tower inside a full CLIPModel config.json
                                             (nested `vision_config`, top-level `projection_dim`)
  vit-b32-config.json                        transformers' default CLIPConfig = the ViT-B/32 architecture
  images/*.png                               8-bit gray test images (4 of the config's size, 3 resized)
  expected.json                              L2-normalised image embeddings + provenance

Reproduce:
  python3.11 -m venv /tmp/clipenv
  /tmp/clipenv/bin/pip install torch==2.15.0 transformers==5.23.0 safetensors==0.8.0 \\
      numpy==2.4.6 pillow==13.0.0
  /tmp/clipenv/bin/python tools/clip/make_golden.py
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import PIL
import safetensors
import torch
import transformers
from PIL import Image
from safetensors import safe_open
from transformers import (
    CLIPConfig,
    CLIPImageProcessorPil,
    CLIPModel,
    CLIPTextConfig,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

OUT = os.path.join("tests", "fixtures", "embed", "clip")
SEED = 20240611
IMAGE_SIZE = 32  # the tiny config's image_size: the fixture images already have it, so no resize happens

TINY = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    image_size=IMAGE_SIZE,
    patch_size=8,
    projection_dim=32,
    hidden_act="quick_gelu",
    layer_norm_eps=1e-5,
)


def randomise(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Replace transformers' near-trivial init (LayerNorm 1/0, std 0.02) by O(1) random values.

    Why: with the default init every image maps to almost the same vector, so a wrong preprocessing or a
    dropped bias would still pass; here every parameter matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if "layer_norm" in name or "layrnorm" in name or "layernorm" in name:
                p.copy_(1.0 + 0.2 * noise if name.endswith("weight") else 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            elif p.dim() >= 2 and "embedding" not in name.split(".")[-2]:
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(noise / np.sqrt(fan_in))
            else:  # class / position / patch embeddings
                fan_in = int(np.prod(p.shape[1:])) if p.dim() == 4 else 1
                p.copy_(noise / np.sqrt(fan_in) * (1.0 if p.dim() == 4 else 0.5))


def test_images() -> dict:
    """Deterministic 8-bit gray images, IMAGE_SIZE x IMAGE_SIZE."""
    n = IMAGE_SIZE
    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)
    imgs = {}
    imgs["gradient"] = np.clip(255.0 * x / (n - 1) * (0.6 + 0.4 * y / (n - 1)), 0, 255)
    implant = rng.normal(45.0, 12.0, (n, n))
    bar = (np.abs(x - n / 2 + 0.5) < n / 8) & (y > n / 8)
    threads = (np.abs(x - n / 2 + 0.5) < n / 8 + 2) & (y.astype(int) % 4 < 2) & (y > n / 4)
    implant[bar | threads] = 225.0 + rng.normal(0.0, 6.0, (n, n))[bar | threads]
    imgs["implant"] = np.clip(implant, 0, 255)
    imgs["checker"] = np.where(((x // 4 + y // 4) % 2) == 0, 30.0, 200.0)
    r = np.hypot(x - n * 0.4, y - n * 0.6)
    imgs["disc"] = np.clip(250.0 - 6.0 * r, 0, 255)
    return {k: Image.fromarray(np.rint(v).astype(np.uint8), mode="L") for k, v in imgs.items()}


def resized_images() -> dict:
    """Images NOT of the config's size: they go through the processor's bicubic resize (Pillow) and
    centre crop, down and up, wide and tall."""
    rng = np.random.default_rng(SEED + 1)
    out = {}
    sizes = {"resize_down_wide": (57, 45), "resize_up_tall": (21, 26), "resize_down_tall": (40, 97)}
    for name, (w, h) in sizes.items():
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        a = 128.0 + 80.0 * np.sin(x / 3.0) * np.cos(y / 5.0) + rng.normal(0.0, 20.0, (h, w))
        out[name] = Image.fromarray(np.rint(np.clip(a, 0, 255)).astype(np.uint8), mode="L")
    return out


def embed(model, processor, pil_images):
    pixels = processor(images=[im.convert("RGB") for im in pil_images], return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        if isinstance(model, CLIPModel):
            out = model.get_image_features(pixel_values=pixels)
            feats = out if isinstance(out, torch.Tensor) else out.pooler_output
        else:
            feats = model(pixel_values=pixels).image_embeds
    feats = feats.double()
    return (feats / feats.norm(dim=-1, keepdim=True)).numpy(), pixels


def main() -> None:
    if not os.path.isdir(os.path.join("tests", "fixtures")):
        sys.exit("run from the repository root")
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)

    tiny_dir = os.path.join(OUT, "tiny")
    img_dir = os.path.join(OUT, "images")
    for d in (tiny_dir, img_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)

    vcfg = CLIPVisionConfig(**TINY)
    model = CLIPVisionModelWithProjection(vcfg).eval()
    randomise(model, gen)
    model.save_pretrained(tiny_dir)
    with safe_open(os.path.join(tiny_dir, "model.safetensors"), "pt") as f:
        keys = sorted(f.keys())
    assert "vision_model.embeddings.class_embedding" in keys and "visual_projection.weight" in keys, keys
    assert not any(k.startswith("vision_model.vision_model.") for k in keys), keys

    images = test_images()
    names = sorted(images)
    resized = resized_images()
    images.update(resized)
    resized_names = sorted(resized)
    for k in names:
        images[k].save(os.path.join(img_dir, f"{k}.png"), optimize=False)
    # What the Rust side reads back: the PNGs, not the in-memory arrays.
    loaded = [Image.open(os.path.join(img_dir, f"{k}.png")).copy() for k in names]
    assert all(im.mode == "L" and im.size == (IMAGE_SIZE, IMAGE_SIZE) for im in loaded)
    for k in resized_names:
        resized[k].save(os.path.join(img_dir, f"{k}.png"), optimize=False)
    loaded_resized = [Image.open(os.path.join(img_dir, f"{k}.png")).copy() for k in resized_names]
    assert all(im.mode == "L" and im.size != (IMAGE_SIZE, IMAGE_SIZE) for im in loaded_resized)

    processor = CLIPImageProcessorPil(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    )
    # Reload from disk exactly as a user would.
    reloaded = CLIPVisionModelWithProjection.from_pretrained(tiny_dir).eval()
    emb, pixels = embed(reloaded, processor, loaded)

    # Same images without the processor: gray replicated, /255, OpenAI mean/std. Proves that at the
    # config's size the processor's resize and crop are identities (the Rust encoder does exactly this).
    mean = np.array([0.48145466, 0.4578275, 0.40821073]).reshape(3, 1, 1)
    std = np.array([0.26862954, 0.26130258, 0.27577711]).reshape(3, 1, 1)
    manual = np.stack([(np.asarray(im, np.float64)[None] / 255.0 - mean) / std for im in loaded])
    assert np.abs(manual - pixels.double().numpy()).max() < 1e-6

    # The same tower inside a full CLIPModel: same numbers from get_image_features.
    text = CLIPTextConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
        vocab_size=100, max_position_embeddings=16, projection_dim=TINY["projection_dim"],
    )
    full_cfg = CLIPConfig(
        text_config=text.to_dict(), vision_config=vcfg.to_dict(), projection_dim=TINY["projection_dim"]
    )
    full = CLIPModel(full_cfg).eval()
    missing, unexpected = full.load_state_dict(reloaded.state_dict(), strict=False)
    assert not unexpected, unexpected
    assert all(k.startswith(("text_", "logit_scale")) for k in missing), missing
    full_emb, _ = embed(full, processor, loaded)
    assert np.abs(full_emb - emb).max() < 1e-6
    emb_resized, _ = embed(reloaded, processor, loaded_resized)
    with tempfile.TemporaryDirectory() as d:
        full.save_pretrained(d)
        shutil.copy(os.path.join(d, "config.json"), os.path.join(OUT, "full-config.json"))
    with tempfile.TemporaryDirectory() as d:
        CLIPConfig().save_pretrained(d)  # transformers' defaults are the ViT-B/32 architecture
        shutil.copy(os.path.join(d, "config.json"), os.path.join(OUT, "vit-b32-config.json"))

    cos = emb @ emb.T
    off_diag = cos[~np.eye(len(names), dtype=bool)]
    assert off_diag.max() < 0.95, f"test images embed too alike: {cos}"

    with open(os.path.join(tiny_dir, "model.safetensors"), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    expected = {
        "generator": "tools/clip/make_golden.py",
        "reference": "transformers CLIPVisionModelWithProjection(...).image_embeds "
        "== CLIPModel.get_image_features, pixel values from CLIPImageProcessorPil, "
        "then L2-normalised (float64)",
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "safetensors": safetensors.__version__,
            "numpy": np.__version__,
            "pillow": PIL.__version__,
        },
        "seed": SEED,
        "model_dir": "tiny",
        "weights_sha256": sha,
        "dim": TINY["projection_dim"],
        "image_size": IMAGE_SIZE,
        "tolerance_max_abs": 1e-4,
        "max_off_diagonal_cosine": float(off_diag.max()),
        "images": [
            {"file": f"images/{k}.png", "resized": False, "embedding": [float(v) for v in emb[i]]}
            for i, k in enumerate(names)
        ]
        + [
            {"file": f"images/{k}.png", "resized": True, "embedding": [float(v) for v in e]}
            for k, e in zip(resized_names, emb_resized)
        ],
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(
        f"wrote {OUT}: {len(names)} + {len(resized_names)} resized images, dim {emb.shape[1]}, "
        f"max off-diagonal cosine {off_diag.max():.3f}"
    )


if __name__ == "__main__":
    main()
