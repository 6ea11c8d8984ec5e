//! CLIP ViT-B/32 image tower (512-D vectors) run locally with Candle, numerically matching Hugging Face
//! transformers' `CLIPModel.get_image_features`.
//!
//! Why: CLIP image vectors are the reference embedding for "find radiographs that look like this one";
//! they only mean something if they are the vectors the published model computes, so this module
//! follows transformers exactly (tested to 1e-4 against transformers on a tiny random-weight tower in
//! `tests/fixtures/embed/clip/`, made by `tools/clip/make_golden.py`):
//!
//! * weights: Hugging Face layout, a folder with `model.safetensors` and `config.json`, either a full
//!   `CLIPModel` checkpoint (`openai/clip-vit-base-patch32`; its `text_model.*` tensors are ignored) or a
//!   `CLIPVisionModelWithProjection` one. Every tensor the tower needs is checked by name and shape
//!   *before* the model is built, because Candle silently replaces a missing `class_embedding` by
//!   random numbers;
//! * preprocessing (OpenAI CLIP, as `CLIPImageProcessor`): gray replicated to 3 channels, resized
//!   (shortest edge with Pillow's bicubic, reproduced exactly, then centre crop) only if the image is
//!   not already `image_size` square — standardised 224×224 images are not resized — scaled by 1/255
//!   and normalised with the OpenAI mean/std (not the [-1, 1] scaling of Candle's example);
//! * output: `visual_projection(post_layernorm(CLS token))`, L2-normalised.
//!
//! Getting the weights needs the network once (`raiox models fetch clip`, or a copy of a Hugging Face
//! snapshot); loading never does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::clip::text_model::Activation;
use candle_transformers::models::clip::vision_model::ClipVisionConfig as CandleVisionConfig;
use image::GrayImage;
use serde::Deserialize;

use raiox_core::embed::{l2_normalise, Encoder};
use raiox_core::Error;

/// Hugging Face repository of the reference weights (what `raiox models fetch clip` downloads).
pub const HF_REPO: &str = "openai/clip-vit-base-patch32";
/// Folder name of the weights under the models directory (see [`default_dir`]).
pub const MODEL_DIR_NAME: &str = "clip-vit-base-patch32";
/// Weights file inside a model folder (Hugging Face layout).
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Configuration file inside a model folder (Hugging Face layout).
pub const CONFIG_FILE: &str = "config.json";
/// Encoder id of the real ViT-B/32 architecture.
pub const VIT_B32_ID: &str = "clip-vit-b32";
/// Preprocessing version stored with every vector; bump when [`ClipImageEncoder::preprocess`] changes.
pub const PREPROCESS_VERSION: u32 = 1;
/// OpenAI CLIP per-channel mean (RGB), applied after scaling pixels to [0, 1].
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// OpenAI CLIP per-channel standard deviation (RGB).
#[allow(clippy::excessive_precision)] // the published digits; rounded to f32 as transformers does
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];
/// Images per forward pass: bounds peak memory when a whole library is embedded at once.
const BATCH: usize = 32;
/// Candle's CLIP hard-codes this LayerNorm epsilon; other values are refused rather than ignored.
const CANDLE_LAYER_NORM_EPS: f64 = 1e-5;

/// How to obtain the weights; appended to every "missing or unusable weights" error.
fn how_to_get() -> String {
    format!(
        "get the weights with `raiox models fetch clip`, or copy a Hugging Face `{HF_REPO}` snapshot \
         ({WEIGHTS_FILE} and {CONFIG_FILE}) into models/{MODEL_DIR_NAME}/"
    )
}

/// The vision part of a Hugging Face CLIP `config.json`.
///
/// Why a type of our own: the fields are read from the file the weights came with (a tiny test
/// tower and the real ViT-B/32 go through the same code), missing fields take transformers'
/// `CLIPVisionConfig` defaults (which are ViT-B/32, and which transformers omits when saving), and the
/// settings Candle cannot honour are refused instead of silently ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClipVisionConfig {
    /// Width of the transformer (768 for ViT-B/32).
    #[serde(default = "defaults::hidden_size")]
    pub hidden_size: usize,
    /// Width of the MLP inside each layer (3072).
    #[serde(default = "defaults::intermediate_size")]
    pub intermediate_size: usize,
    /// Number of transformer layers (12).
    #[serde(default = "defaults::num_hidden_layers")]
    pub num_hidden_layers: usize,
    /// Attention heads per layer (12).
    #[serde(default = "defaults::num_attention_heads")]
    pub num_attention_heads: usize,
    /// Side of the square input image in pixels (224).
    #[serde(default = "defaults::image_size")]
    pub image_size: usize,
    /// Side of a square patch in pixels (32).
    #[serde(default = "defaults::patch_size")]
    pub patch_size: usize,
    /// Length of the output vector (512). In a full `CLIPModel` config the top-level `projection_dim`
    /// wins, as in transformers.
    #[serde(default = "defaults::projection_dim")]
    pub projection_dim: usize,
    /// Input channels; must be 3 (gray is replicated).
    #[serde(default = "defaults::num_channels")]
    pub num_channels: usize,
    /// MLP activation; Candle implements only `quick_gelu`.
    #[serde(default = "defaults::hidden_act")]
    pub hidden_act: String,
    /// LayerNorm epsilon; Candle hard-codes 1e-5.
    #[serde(default = "defaults::layer_norm_eps")]
    pub layer_norm_eps: f64,
}

/// transformers' `CLIPVisionConfig` defaults.
mod defaults {
    pub fn hidden_size() -> usize {
        768
    }
    pub fn intermediate_size() -> usize {
        3072
    }
    pub fn num_hidden_layers() -> usize {
        12
    }
    pub fn num_attention_heads() -> usize {
        12
    }
    pub fn image_size() -> usize {
        224
    }
    pub fn patch_size() -> usize {
        32
    }
    pub fn projection_dim() -> usize {
        512
    }
    pub fn num_channels() -> usize {
        3
    }
    pub fn hidden_act() -> String {
        "quick_gelu".to_string()
    }
    pub fn layer_norm_eps() -> f64 {
        1e-5
    }
}

impl ClipVisionConfig {
    /// The `openai/clip-vit-base-patch32` image tower.
    pub fn vit_b32() -> Self {
        ClipVisionConfig {
            hidden_size: defaults::hidden_size(),
            intermediate_size: defaults::intermediate_size(),
            num_hidden_layers: defaults::num_hidden_layers(),
            num_attention_heads: defaults::num_attention_heads(),
            image_size: defaults::image_size(),
            patch_size: defaults::patch_size(),
            projection_dim: defaults::projection_dim(),
            num_channels: defaults::num_channels(),
            hidden_act: defaults::hidden_act(),
            layer_norm_eps: defaults::layer_norm_eps(),
        }
    }

    /// Parse a Hugging Face `config.json`: the `vision_config` section of a full CLIP config (with the
    /// top-level `projection_dim` overriding, as `CLIPModel` does), or a `CLIPVisionModelWithProjection`
    /// config whose fields are at the top level. Validated (see [`ClipVisionConfig::validate`]).
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("CLIP config is not valid JSON: {e}")))?;
        let config = match value.get("vision_config") {
            Some(vision) if vision.is_object() => {
                let mut config: ClipVisionConfig = serde_json::from_value(vision.clone())
                    .map_err(|e| Error::Invalid(format!("CLIP config: bad `vision_config`: {e}")))?;
                if let Some(dim) = value.get("projection_dim") {
                    config.projection_dim = dim
                        .as_u64()
                        .ok_or_else(|| Error::Invalid(format!("CLIP config: bad projection_dim {dim}")))?
                        as usize;
                }
                config
            }
            _ if value.get("text_config").is_some() => {
                return Err(Error::Invalid(
                    "CLIP config has a `text_config` but no `vision_config`".to_string(),
                ))
            }
            _ => serde_json::from_value(value)
                .map_err(|e| Error::Invalid(format!("CLIP config: bad vision fields: {e}")))?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Refuse configurations Candle's CLIP cannot run faithfully (other activation, LayerNorm
    /// epsilon or channel count) or that make no sense (zero sizes, heads not dividing the width).
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |why: String| Err(Error::Invalid(format!("unsupported CLIP vision config: {why}")));
        if self.hidden_act != "quick_gelu" {
            return bad(format!(
                "hidden_act {:?} (only quick_gelu is implemented)",
                self.hidden_act
            ));
        }
        if (self.layer_norm_eps - CANDLE_LAYER_NORM_EPS).abs() > 1e-12 {
            return bad(format!(
                "layer_norm_eps {} (Candle uses 1e-5)",
                self.layer_norm_eps
            ));
        }
        if self.num_channels != 3 {
            return bad(format!("num_channels {} (expected 3)", self.num_channels));
        }
        let sizes = [
            self.hidden_size,
            self.intermediate_size,
            self.num_hidden_layers,
            self.num_attention_heads,
            self.patch_size,
            self.projection_dim,
        ];
        if sizes.contains(&0) || self.image_size < self.patch_size {
            return bad(format!("zero size or image smaller than a patch in {self:?}"));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return bad(format!(
                "hidden_size {} not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        Ok(())
    }

    /// The encoder id stored with every vector.
    ///
    /// Rule: `"clip-vit-b32"` for exactly the ViT-B/32 architecture ([`ClipVisionConfig::vit_b32`]);
    /// otherwise `"clip-vit-{layers}x{hidden}-p{patch}-s{image_size}-d{projection_dim}"`, e.g.
    /// `"clip-vit-2x64-p8-s32-d32"` for the test tower. The id names the architecture; which weights
    /// are in it is told by the weights' SHA-256, stored alongside.
    pub fn encoder_id(&self) -> String {
        if *self == Self::vit_b32() {
            VIT_B32_ID.to_string()
        } else {
            format!(
                "clip-vit-{}x{}-p{}-s{}-d{}",
                self.num_hidden_layers,
                self.hidden_size,
                self.patch_size,
                self.image_size,
                self.projection_dim
            )
        }
    }

    /// The sizes the gemm forward pass ([`crate::vit`]) runs with.
    pub(crate) fn dims(&self) -> crate::vit::Dims {
        crate::vit::Dims {
            hidden: self.hidden_size,
            intermediate: self.intermediate_size,
            heads: self.num_attention_heads,
            layers: self.num_hidden_layers,
            channels: self.num_channels,
            image: self.image_size,
            patch: self.patch_size,
            projection: self.projection_dim,
        }
    }

    /// Multiply-adds of one image's forward pass; twice this is its FLOP count.
    ///
    /// Why: throughput in GFLOP/s is compared with the machine's peak; the "4.4 GFLOP" often
    /// quoted for ViT-B/32 counts multiply-adds.
    pub fn multiply_adds_per_image(&self) -> u64 {
        self.dims().multiply_adds()
    }

    /// A `VarMap` holding every tensor of [`ClipVisionConfig::required_tensors`], each drawn with
    /// `init(name)`.
    ///
    /// Why: Candle's `VarMap` fills a tensor first asked for without hints with zeros; a tower for a
    /// speed measurement or a numerical comparison needs real random values everywhere.
    pub fn random_weights(
        &self,
        init: impl Fn(&str) -> candle_nn::Init,
    ) -> candle_core::Result<candle_nn::VarMap> {
        let varmap = candle_nn::VarMap::new();
        for (name, shape) in self.required_tensors() {
            varmap.get(shape, &name, init(&name), DType::F32, &Device::Cpu)?;
        }
        Ok(varmap)
    }

    /// The same settings in Candle's terms (Candle's tower is the reference the gemm forward pass
    /// is tested against).
    pub fn to_candle(&self) -> CandleVisionConfig {
        CandleVisionConfig {
            embed_dim: self.hidden_size,
            activation: Activation::QuickGelu,
            intermediate_size: self.intermediate_size,
            num_hidden_layers: self.num_hidden_layers,
            num_attention_heads: self.num_attention_heads,
            projection_dim: self.projection_dim,
            num_channels: self.num_channels,
            image_size: self.image_size,
            patch_size: self.patch_size,
        }
    }

    /// Every tensor the image tower reads, with its shape (Hugging Face names).
    ///
    /// Why: checked against the file before building, since Candle fills a missing `class_embedding`
    /// with random values instead of failing.
    pub fn required_tensors(&self) -> Vec<(String, Vec<usize>)> {
        let (h, i, p, c) = (
            self.hidden_size,
            self.intermediate_size,
            self.patch_size,
            self.num_channels,
        );
        let positions = (self.image_size / p).pow(2) + 1;
        let v = "vision_model";
        let mut out = vec![
            (format!("{v}.embeddings.class_embedding"), vec![h]),
            (format!("{v}.embeddings.patch_embedding.weight"), vec![h, c, p, p]),
            (
                format!("{v}.embeddings.position_embedding.weight"),
                vec![positions, h],
            ),
            (format!("{v}.pre_layrnorm.weight"), vec![h]),
            (format!("{v}.pre_layrnorm.bias"), vec![h]),
        ];
        for l in 0..self.num_hidden_layers {
            let layer = format!("{v}.encoder.layers.{l}");
            for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                out.push((format!("{layer}.self_attn.{proj}.weight"), vec![h, h]));
                out.push((format!("{layer}.self_attn.{proj}.bias"), vec![h]));
            }
            for norm in ["layer_norm1", "layer_norm2"] {
                out.push((format!("{layer}.{norm}.weight"), vec![h]));
                out.push((format!("{layer}.{norm}.bias"), vec![h]));
            }
            out.push((format!("{layer}.mlp.fc1.weight"), vec![i, h]));
            out.push((format!("{layer}.mlp.fc1.bias"), vec![i]));
            out.push((format!("{layer}.mlp.fc2.weight"), vec![h, i]));
            out.push((format!("{layer}.mlp.fc2.bias"), vec![h]));
        }
        out.push((format!("{v}.post_layernorm.weight"), vec![h]));
        out.push((format!("{v}.post_layernorm.bias"), vec![h]));
        out.push((
            "visual_projection.weight".to_string(),
            vec![self.projection_dim, h],
        ));
        out
    }
}

/// CLIP image encoder: the vision transformer (ending in the post-LayerNorm of the CLS token)
/// followed by the bias-free `visual_projection`, i.e. `get_image_features`, L2-normalised; run by
/// [`crate::vit`]'s forward pass on gemm, which matches Candle's `ClipVisionTransformer`.
///
/// Why its own type: it carries the provenance (id, weights SHA-256, preprocessing version) that every
/// stored vector records, so vectors of different models or preprocessing are never compared.
pub struct ClipImageEncoder {
    tower: crate::vit::VitTower,
    config: ClipVisionConfig,
    id: String,
    weights_sha256: String,
    device: Device,
}

impl std::fmt::Debug for ClipImageEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipImageEncoder")
            .field("id", &self.id)
            .field("config", &self.config)
            .field("weights_sha256", &self.weights_sha256)
            .finish_non_exhaustive()
    }
}

impl ClipImageEncoder {
    /// Build the tower from any Candle `VarBuilder` (Hugging Face tensor names).
    ///
    /// Why public: benchmarks and experiments build random towers from a `VarMap`. It does NOT check
    /// that the tensors exist (Candle invents a missing `class_embedding`); real weights go through
    /// [`load_dir`], which does.
    pub fn from_var_builder(
        vb: VarBuilder,
        config: &ClipVisionConfig,
        weights_sha256: String,
    ) -> Result<Self, Error> {
        config.validate()?;
        let model_err = |e: candle_core::Error| model_error(format!("building the image tower: {e}"));
        let tower = crate::vit::VitTower::from_var_builder(&vb, config.dims()).map_err(model_err)?;
        Ok(ClipImageEncoder {
            tower,
            config: config.clone(),
            id: config.encoder_id(),
            weights_sha256,
            device: vb.device().clone(),
        })
    }

    /// The configuration the tower was built with.
    pub fn config(&self) -> &ClipVisionConfig {
        &self.config
    }

    /// Turn gray images into the `(n, 3, image_size, image_size)` pixel tensor CLIP expects.
    ///
    /// Why exposed: it is the part most easily got wrong (OpenAI mean/std, not [-1, 1]); tests and
    /// tools can check it on its own. Images already `image_size` square are used as they are;
    /// others are resized like transformers' `CLIPImageProcessor` with its PIL backend (shortest edge
    /// to `image_size` with Pillow's bicubic, reproduced bit for bit, then centre crop).
    pub fn preprocess(&self, images: &[GrayImage]) -> Result<Tensor, Error> {
        let s = self.config.image_size;
        Tensor::from_vec(self.pixel_values(images)?, (images.len(), 3, s, s), &self.device)
            .map_err(|e| model_error(format!("preprocessing: {e}")))
    }

    /// [`ClipImageEncoder::preprocess`]'s values (NCHW, row-major) without the tensor, which
    /// [`Encoder::embed`] hands to the forward pass as they are.
    fn pixel_values(&self, images: &[GrayImage]) -> Result<Vec<f32>, Error> {
        let s = self.config.image_size;
        let plane = s * s;
        let mut data = vec![0f32; images.len() * 3 * plane];
        for (n, image) in images.iter().enumerate() {
            let square;
            let pixels = if image.width() as usize == s && image.height() as usize == s {
                image
            } else {
                square = resize_and_crop(image, s as u32)?;
                &square
            };
            let base = n * 3 * plane;
            for (k, &p) in pixels.as_raw().iter().enumerate() {
                let x = f32::from(p) / 255.0;
                for c in 0..3 {
                    data[base + c * plane + k] = (x - CLIP_MEAN[c]) / CLIP_STD[c];
                }
            }
        }
        Ok(data)
    }

    /// Unnormalised `get_image_features` of a pixel batch from [`ClipImageEncoder::preprocess`].
    pub fn image_features(&self, pixels: &Tensor) -> Result<Tensor, Error> {
        self.features(pixels, &mut crate::vit::Workspace::default())
            .and_then(|rows| {
                let n = rows.len() / self.config.projection_dim;
                Tensor::from_vec(rows, (n, self.config.projection_dim), &self.device)
                    .map_err(|e| model_error(format!("output: {e}")))
            })
    }

    /// [`ClipImageEncoder::image_features`] as rows of a flat vector, with the caller's buffers.
    fn features(&self, pixels: &Tensor, ws: &mut crate::vit::Workspace) -> Result<Vec<f32>, Error> {
        self.tower
            .forward_tensor(pixels, ws)
            .map_err(|e| model_error(format!("forward pass: {e}")))
    }
}

impl Encoder for ClipImageEncoder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.config.projection_dim
    }

    fn weights_sha256(&self) -> &str {
        &self.weights_sha256
    }

    fn preprocess_version(&self) -> u32 {
        PREPROCESS_VERSION
    }

    fn embed(&self, images: &[GrayImage]) -> Result<Vec<Vec<f32>>, Error> {
        let mut out = Vec::with_capacity(images.len());
        let mut workspace = crate::vit::Workspace::default();
        for chunk in images.chunks(BATCH) {
            let features = self
                .tower
                .forward(&self.pixel_values(chunk)?, chunk.len(), &mut workspace);
            for row in features.chunks_exact(self.config.projection_dim) {
                let mut row = row.to_vec();
                l2_normalise(&mut row);
                out.push(row);
            }
        }
        Ok(out)
    }
}

/// Resize so the shortest edge is `size` (Pillow's bicubic), then centre crop `size`×`size`, as
/// transformers' `CLIPImageProcessor` (PIL backend) does.
fn resize_and_crop(image: &GrayImage, size: u32) -> Result<GrayImage, Error> {
    let (w, h) = (image.width(), image.height());
    if w == 0 || h == 0 {
        return Err(model_error("preprocessing: empty image".to_string()));
    }
    // transformers: new_short = size, new_long = int(size * long / short).
    let (rw, rh) = if w <= h {
        (size, ((u64::from(size) * u64::from(h)) / u64::from(w)) as u32)
    } else {
        (((u64::from(size) * u64::from(w)) / u64::from(h)) as u32, size)
    };
    let resized = pil_bicubic_resize(image, rw, rh);
    // transformers' center_crop: top = (height - crop) // 2, left = (width - crop) // 2.
    let (left, top) = ((rw - size) / 2, (rh - size) / 2);
    Ok(image::imageops::crop_imm(&resized, left, top, size, size).to_image())
}

/// Pillow's `Image.resize(..., BICUBIC)` of an 8-bit image, reproduced exactly (libImaging/Resample.c
/// of Pillow 13: separable passes, 22-bit fixed-point weights, the intermediate rounded to 8 bits, and
/// the vertical pass first when the height shrinks by more than twice as many pixels as the width).
///
/// Why not a generic bicubic: transformers' CLIP processor resizes with Pillow, and a ±1 gray-level
/// difference on a quarter of the pixels is visible in the vectors; this is bit-exact.
fn pil_bicubic_resize(src: &GrayImage, out_w: u32, out_h: u32) -> GrayImage {
    let (in_w, in_h) = (src.width() as usize, src.height() as usize);
    let (out_w, out_h) = (out_w as usize, out_h as usize);
    let shrink_h = in_h as i64 - out_h as i64;
    let vertical_first = shrink_h > 0 && shrink_h > (in_w as i64 - out_w as i64) * 2;
    let pixels = src.as_raw().clone();
    let pixels = if vertical_first {
        let tall = pil_pass(&pixels, in_w, in_h, out_h, false);
        pil_pass(&tall, in_w, out_h, out_w, true)
    } else {
        let wide = pil_pass(&pixels, in_w, in_h, out_w, true);
        pil_pass(&wide, out_w, in_h, out_h, false)
    };
    GrayImage::from_raw(out_w as u32, out_h as u32, pixels).expect("buffer matches size")
}

/// One Pillow resampling pass over a `w`×`h` 8-bit image: along x (`horizontal`) to width `out`, or
/// along y to height `out`. A pass to the same size is skipped, as Pillow does.
fn pil_pass(pixels: &[u8], w: usize, h: usize, out: usize, horizontal: bool) -> Vec<u8> {
    const PRECISION_BITS: u32 = 32 - 8 - 2;
    let in_size = if horizontal { w } else { h };
    if out == in_size {
        return pixels.to_vec();
    }
    let clip8 = |acc: i64| -> u8 {
        if acc >= (1i64 << PRECISION_BITS << 8) {
            255
        } else if acc <= 0 {
            0
        } else {
            (acc >> PRECISION_BITS) as u8
        }
    };
    let (ksize, bounds, k) = pil_coefficients(in_size, out, PRECISION_BITS);
    let (ow, oh) = if horizontal { (out, h) } else { (w, out) };
    let mut result = vec![0u8; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            let (o, fixed) = if horizontal { (x, y) } else { (y, x) };
            let (start, n) = bounds[o];
            let weights = &k[o * ksize..o * ksize + n];
            let acc = weights
                .iter()
                .enumerate()
                .fold(1i64 << (PRECISION_BITS - 1), |a, (j, &wt)| {
                    let p = if horizontal {
                        pixels[fixed * w + start + j]
                    } else {
                        pixels[(start + j) * w + fixed]
                    };
                    a + i64::from(p) * wt
                });
            result[y * ow + x] = clip8(acc);
        }
    }
    result
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bicubic filter (a = -0.5):
/// per output pixel the first input index and tap count, and `ksize` fixed-point weights.
fn pil_coefficients(
    in_size: usize,
    out_size: usize,
    precision_bits: u32,
) -> (usize, Vec<(usize, usize)>, Vec<i64>) {
    fn bicubic(x: f64) -> f64 {
        const A: f64 = -0.5;
        let x = x.abs();
        if x < 1.0 {
            ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            (((x - 5.0) * x + 8.0) * x - 4.0) * A
        } else {
            0.0
        }
    }
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 2.0 * filterscale;
    let ss = 1.0 / filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let one = f64::from(1u32 << precision_bits);
    let mut bounds = Vec::with_capacity(out_size);
    let mut k = vec![0i64; out_size * ksize];
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        // C casts truncate toward zero; then clamp to the image.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize - xmin;
        let w: Vec<f64> = (0..xmax)
            .map(|x| bicubic(((x + xmin) as f64 - center + 0.5) * ss))
            .collect();
        let total: f64 = w.iter().sum();
        for (x, &v) in w.iter().enumerate() {
            let v = if total != 0.0 { v / total } else { v };
            k[xx * ksize + x] = if v < 0.0 {
                (-0.5 + v * one) as i64
            } else {
                (0.5 + v * one) as i64
            };
        }
        bounds.push((xmin, xmax));
    }
    (ksize, bounds, k)
}

/// Load a CLIP image tower from a Hugging Face layout folder (`model.safetensors` + `config.json`).
///
/// Why this is the one loader: it refuses, with a message naming the file and how to get a good one,
/// a missing folder or file, a malformed config or safetensors, and any missing, misshapen or
/// non-float tensor — Candle would otherwise run with random values in their place. The weights'
/// SHA-256 is computed from the same bytes that are loaded.
pub fn load_dir(dir: &Path) -> Result<ClipImageEncoder, Error> {
    let weights_path = dir.join(WEIGHTS_FILE);
    let config_path = dir.join(CONFIG_FILE);
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "no CLIP model folder at {}: {}",
            dir.display(),
            how_to_get()
        )));
    }
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| {
            Error::Invalid(format!(
                "cannot read CLIP {}: {e}; {}",
                path.display(),
                how_to_get()
            ))
        })
    };
    let config_text = String::from_utf8(read(&config_path)?).map_err(|_| {
        Error::Invalid(format!(
            "{} is not UTF-8 text; {}",
            config_path.display(),
            how_to_get()
        ))
    })?;
    let config = ClipVisionConfig::from_json(&config_text)
        .map_err(|e| Error::Invalid(format!("{}: {e}", config_path.display())))?;
    let bytes = read(&weights_path)?;
    let weights_sha256 = raiox_core::util::sha256_hex(&bytes);
    let tensors = required_from_safetensors(&bytes, &config)
        .map_err(|why| Error::Invalid(format!("{}: {why}; {}", weights_path.display(), how_to_get())))?;
    drop(bytes);
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    ClipImageEncoder::from_var_builder(vb, &config, weights_sha256)
}

/// Parse a safetensors buffer and take out, as F32 on the CPU, exactly the tensors the tower needs,
/// after checking that every one is present with the right shape and a float dtype.
fn required_from_safetensors(
    bytes: &[u8],
    config: &ClipVisionConfig,
) -> Result<HashMap<String, Tensor>, String> {
    let file = candle_core::safetensors::SliceSafetensors::new(bytes)
        .map_err(|e| format!("not a valid safetensors file ({e})"))?;
    let present: HashMap<String, Vec<usize>> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec()))
        .collect();
    let required = config.required_tensors();
    let missing: Vec<&str> = required
        .iter()
        .filter(|(name, _)| !present.contains_key(name))
        .map(|(name, _)| name.as_str())
        .collect();
    if !missing.is_empty() {
        let shown = missing.iter().take(8).copied().collect::<Vec<_>>().join(", ");
        let more = if missing.len() > 8 {
            format!(" and {} more", missing.len() - 8)
        } else {
            String::new()
        };
        return Err(format!(
            "missing {} tensor(s) the CLIP image tower needs: {shown}{more} \
             (not a complete CLIP checkpoint in Hugging Face layout)",
            missing.len()
        ));
    }
    let mut out = HashMap::with_capacity(required.len());
    for (name, shape) in required {
        if present[&name] != shape {
            return Err(format!(
                "tensor {name} has shape {:?}, but config.json implies {shape:?}",
                present[&name]
            ));
        }
        let tensor = file
            .load(&name, &Device::Cpu)
            .map_err(|e| format!("cannot read tensor {name}: {e}"))?;
        if !tensor.dtype().is_float() {
            return Err(format!(
                "tensor {name} has dtype {:?}, expected a float",
                tensor.dtype()
            ));
        }
        let tensor = tensor
            .to_dtype(DType::F32)
            .map_err(|e| format!("cannot convert tensor {name} to f32: {e}"))?;
        out.insert(name, tensor);
    }
    Ok(out)
}

/// Where the CLIP weights are looked for and fetched to by default.
///
/// Why this order: an explicit `RAIOX_MODELS_DIR` wins (`$RAIOX_MODELS_DIR/clip-vit-base-patch32`);
/// then `models/clip-vit-base-patch32` next to the executable, if it exists (an unpacked release);
/// then `models/clip-vit-base-patch32` in the source tree if its `models/` exists on this
/// machine (a development checkout, where `cargo run` puts the executable under `target/`); otherwise
/// the executable's neighbour again.
pub fn default_dir() -> PathBuf {
    if let Some(root) = std::env::var_os("RAIOX_MODELS_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(root).join(MODEL_DIR_NAME);
    }
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("models").join(MODEL_DIR_NAME)));
    if let Some(dir) = beside_exe.as_ref().filter(|d| d.is_dir()) {
        return dir.clone();
    }
    let source_models = crate::source_models_dir();
    if source_models.is_dir() || beside_exe.is_none() {
        return source_models.join(MODEL_DIR_NAME);
    }
    beside_exe.expect("checked above")
}

/// A snapshot of `openai/clip-vit-base-patch32` already in the Hugging Face cache, if any.
///
/// Why: many users already downloaded CLIP with Python; using that copy avoids a second 600 MB
/// download. Looks under `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`; never
/// touches the network.
pub fn find_in_hf_cache() -> Option<PathBuf> {
    let hub = if let Some(cache) = std::env::var_os("HF_HUB_CACHE").filter(|v| !v.is_empty()) {
        PathBuf::from(cache)
    } else if let Some(home) = std::env::var_os("HF_HOME").filter(|v| !v.is_empty()) {
        PathBuf::from(home).join("hub")
    } else {
        directories::BaseDirs::new()?
            .home_dir()
            .join(".cache")
            .join("huggingface")
            .join("hub")
    };
    find_in_hub_cache(&hub)
}

/// [`find_in_hf_cache`] for a given hub cache folder: the snapshot `refs/main` points to if it holds
/// both files, else the last (by name) snapshot that does, for a stable choice.
///
/// Why separate: testable without touching the process environment.
pub fn find_in_hub_cache(hub: &Path) -> Option<PathBuf> {
    let repo = hub.join(format!("models--{}", HF_REPO.replace('/', "--")));
    let snapshots = repo.join("snapshots");
    let complete = |dir: &Path| dir.join(WEIGHTS_FILE).is_file() && dir.join(CONFIG_FILE).is_file();
    if let Ok(main) = std::fs::read_to_string(repo.join("refs").join("main")) {
        let dir = snapshots.join(main.trim());
        if !main.trim().is_empty() && complete(&dir) {
            return Some(dir);
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|dir| complete(dir))
        .collect();
    dirs.sort();
    dirs.pop()
}

/// The folder to load CLIP from: [`default_dir`] if it holds the weights, else a Hugging Face cache
/// snapshot ([`find_in_hf_cache`]).
///
/// Why: fronts call this once and, on `None`, tell the user to run `raiox models fetch clip`.
pub fn locate() -> Option<PathBuf> {
    let dir = default_dir();
    if dir.join(WEIGHTS_FILE).is_file() {
        return Some(dir);
    }
    find_in_hf_cache()
}

/// Download `config.json` and `model.safetensors` of `openai/clip-vit-base-patch32` (about 600 MB,
/// once) into `dest`, check that they load, and return `dest`.
///
/// Why through hf-hub: it follows the Hub's redirects, resumes an interrupted download, retries, and
/// honours `HF_ENDPOINT` (mirrors) and `HF_TOKEN`, with pure-Rust TLS (ureq + rustls, no OpenSSL).
/// The files are staged in `dest/.download/` (an hf-hub cache on the same disk) and moved into place,
/// so `dest` never holds a half-written weights file. Weights already in `dest` that load are kept.
pub fn fetch(dest: &Path) -> Result<PathBuf, Error> {
    use hf_hub::api::sync::ApiBuilder;

    if load_dir(dest).is_ok() {
        return Ok(dest.to_path_buf());
    }
    std::fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    let staging = dest.join(".download");
    let api = ApiBuilder::from_env()
        .with_cache_dir(staging.clone())
        .with_progress(true)
        .with_retries(3)
        .build()
        .map_err(|e| Error::Invalid(format!("cannot set up the Hugging Face download: {e}")))?;
    let repo = api.model(HF_REPO.to_string());
    // config.json first: small, so a network or access problem shows before the big download.
    for file in [CONFIG_FILE, WEIGHTS_FILE] {
        let pointer = repo.get(file).map_err(|e| {
            Error::Invalid(format!(
                "downloading {file} of {HF_REPO} from the Hugging Face hub failed: {e}; \
                 retry later (interrupted downloads resume), set HF_ENDPOINT for a mirror, \
                 or copy a snapshot ({WEIGHTS_FILE}, {CONFIG_FILE}) into {}",
                dest.display()
            ))
        })?;
        // In the hf-hub cache the snapshot entry is a symlink to the blob: move the blob itself.
        let blob = std::fs::canonicalize(&pointer).map_err(|e| Error::io(&pointer, e))?;
        let target = dest.join(file);
        std::fs::rename(&blob, &target).map_err(|e| Error::io(&target, e))?;
    }
    let _ = std::fs::remove_dir_all(&staging); // only empty cache bookkeeping is left in it
    load_dir(dest)?; // refuse a truncated or foreign file now rather than at first use
    Ok(dest.to_path_buf())
}

/// An error of this encoder, named.
fn model_error(reason: String) -> Error {
    Error::Model {
        encoder: "CLIP ViT-B/32".into(),
        reason,
    }
}
