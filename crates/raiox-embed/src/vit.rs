//! The CLIP ViT image tower's forward pass written directly on the gemm crate: weights transposed
//! once at load, every activation in buffers reused across layers and batches, each linear layer
//! one matrix product over all tokens of the batch, and the elementwise steps (LayerNorm, softmax,
//! QuickGELU) fused and vectorised for the CPU found at run time.
//!
//! Why not Candle's op-by-op `ClipVisionTransformer`: on two cores it reached 0.4× PyTorch. Its
//! linear layers multiply per image (50 × 768 blocks that leave a core idle), every op allocates and
//! copies a tensor, and its elementwise kernels are scalar. The arithmetic is the same as
//! transformers' `CLIPVisionModel` (checked against Candle's tower in the tests below and against
//! transformers' vectors in `tests/embed_clip.rs`), within float rounding.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use gemm::Parallelism;
use rayon::prelude::*;

use crate::simd::{add_bias, layer_norm, quick_gelu_bias, softmax};

/// LayerNorm epsilon of CLIP (transformers' `layer_norm_eps`, validated by the caller).
const LN_EPS: f32 = 1e-5;

/// Sizes of one tower.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    /// Transformer width.
    pub hidden: usize,
    /// MLP width.
    pub intermediate: usize,
    /// Attention heads.
    pub heads: usize,
    /// Transformer layers.
    pub layers: usize,
    /// Input channels.
    pub channels: usize,
    /// Square input side.
    pub image: usize,
    /// Square patch side.
    pub patch: usize,
    /// Output vector length.
    pub projection: usize,
}

impl Dims {
    fn grid(&self) -> usize {
        self.image / self.patch
    }
    /// Patches plus the class token.
    fn tokens(&self) -> usize {
        self.grid() * self.grid() + 1
    }
    fn patch_len(&self) -> usize {
        self.channels * self.patch * self.patch
    }
    fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
    /// Multiply-adds of one image's forward pass (patch embedding, layers, projection).
    pub fn multiply_adds(&self) -> u64 {
        let (t, h, i) = (self.tokens(), self.hidden, self.intermediate);
        let patches = (t - 1) * self.patch_len() * h;
        let linear = t * h * (3 * h + h + 2 * i);
        let attention = 2 * t * t * h;
        (patches + self.layers * (linear + attention) + h * self.projection) as u64
    }
}

/// LayerNorm weight and bias.
struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

/// One encoder layer; every matrix stored input-major (`in × out`, row-major) for `x · W`.
struct Layer {
    norm1: Norm,
    /// Q, K and V side by side (`hidden × 3·hidden`); Q's columns and bias pre-scaled by
    /// `head_dim^-0.5`, as transformers scales the query.
    qkv: Vec<f32>,
    qkv_bias: Vec<f32>,
    out: Vec<f32>,
    out_bias: Vec<f32>,
    norm2: Norm,
    fc1: Vec<f32>,
    fc1_bias: Vec<f32>,
    fc2: Vec<f32>,
    fc2_bias: Vec<f32>,
}

/// The weights of a CLIP vision tower with its projection, laid out for [`VitTower::forward`].
pub(crate) struct VitTower {
    dims: Dims,
    /// Patch embedding as a matrix (`channels·patch² × hidden`).
    patch: Vec<f32>,
    /// Position embeddings (`tokens × hidden`) with the class embedding added to row 0.
    class_and_positions: Vec<f32>,
    pre_norm: Norm,
    layers: Vec<Layer>,
    post_norm: Norm,
    /// `visual_projection` (`hidden × projection`).
    projection: Vec<f32>,
}

/// Activations of one batch, kept between layers and batches.
#[derive(Default)]
pub(crate) struct Workspace {
    patches: Vec<f32>,
    embedded: Vec<f32>,
    x: Vec<f32>,
    normed: Vec<f32>,
    qkv: Vec<f32>,
    context: Vec<f32>,
    mlp: Vec<f32>,
    pooled: Vec<f32>,
}

impl Workspace {
    /// Size every buffer for `n` images (growing only).
    fn fit(&mut self, d: &Dims, n: usize) {
        let rows = n * d.tokens();
        let grow = |v: &mut Vec<f32>, len: usize| {
            if v.len() < len {
                v.resize(len, 0.0);
            }
        };
        grow(&mut self.patches, n * (d.tokens() - 1) * d.patch_len());
        grow(&mut self.embedded, n * (d.tokens() - 1) * d.hidden);
        grow(&mut self.x, rows * d.hidden);
        grow(&mut self.normed, rows * d.hidden);
        grow(&mut self.qkv, rows * 3 * d.hidden);
        grow(&mut self.context, rows * d.hidden);
        grow(&mut self.mlp, rows * d.intermediate);
        grow(&mut self.pooled, n * d.hidden);
    }
}

/// `(out, in)` row-major → `(in, out)` row-major, in 32 × 32 tiles so that both sides stay in
/// cache (a plain double loop took a third of a second per CLIP load).
fn transpose(w: &[f32], out: usize, inp: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut t = vec![0f32; w.len()];
    for o0 in (0..out).step_by(TILE) {
        for i0 in (0..inp).step_by(TILE) {
            for o in o0..(o0 + TILE).min(out) {
                for i in i0..(i0 + TILE).min(inp) {
                    t[i * out + o] = w[o * inp + i];
                }
            }
        }
    }
    t
}

/// A matrix operand inside a slice: element `(r, c)` is `data[r * row + c * col]`.
#[derive(Clone, Copy)]
struct Strided<'a> {
    data: &'a [f32],
    row: usize,
    col: usize,
}

impl<'a> Strided<'a> {
    /// A row-major matrix whose rows are `row` apart.
    fn rows(data: &'a [f32], row: usize) -> Self {
        Strided { data, row, col: 1 }
    }
    /// The transpose of a row-major matrix whose rows are `row` apart.
    fn transposed(data: &'a [f32], row: usize) -> Self {
        Strided {
            data,
            row: 1,
            col: row,
        }
    }
    /// Whether every element of an `r × c` matrix lies inside the slice.
    fn holds(&self, r: usize, c: usize) -> bool {
        r == 0 || c == 0 || (r - 1) * self.row + (c - 1) * self.col < self.data.len()
    }
}

/// `dst[m × n] (+)= a[m × k] · b[k × n]`, `dst` row-major with rows `ldd` apart; accumulates into
/// `dst` when `accumulate`.
fn matmul(
    (m, k, n): (usize, usize, usize),
    a: Strided,
    b: Strided,
    (dst, ldd): (&mut [f32], usize),
    accumulate: bool,
    parallelism: Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(a.holds(m, k) && b.holds(k, n) && (m - 1) * ldd + n <= dst.len());
    // SAFETY: the assert keeps every element gemm reads or writes inside the slices, whose borrows
    // (one mutable, two shared) cannot alias.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            ldd as isize,
            accumulate,
            a.data.as_ptr(),
            a.col as isize,
            a.row as isize,
            b.data.as_ptr(),
            b.col as isize,
            b.row as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// All of rayon's threads for the large products.
fn all_threads() -> Parallelism {
    Parallelism::Rayon(rayon::current_num_threads().max(1))
}

impl VitTower {
    /// Read the tower's tensors (Hugging Face names) from `vb` and lay them out for the forward pass.
    pub fn from_var_builder(vb: &VarBuilder, d: Dims) -> candle_core::Result<VitTower> {
        let get = |shape: &[usize], name: &str| -> candle_core::Result<Vec<f32>> {
            vb.get(shape, name)?.flatten_all()?.to_vec1::<f32>()
        };
        let norm = |prefix: &str| -> candle_core::Result<Norm> {
            Ok(Norm {
                weight: get(&[d.hidden], &format!("{prefix}.weight"))?,
                bias: get(&[d.hidden], &format!("{prefix}.bias"))?,
            })
        };
        let (h, i) = (d.hidden, d.intermediate);
        let v = "vision_model";
        let class = get(&[h], &format!("{v}.embeddings.class_embedding"))?;
        let mut class_and_positions = get(
            &[d.tokens(), h],
            &format!("{v}.embeddings.position_embedding.weight"),
        )?;
        for (p, c) in class_and_positions.iter_mut().zip(&class) {
            *p += c;
        }
        let conv = get(
            &[h, d.channels, d.patch, d.patch],
            &format!("{v}.embeddings.patch_embedding.weight"),
        )?;
        let scale = (d.head_dim() as f32).powf(-0.5);
        let mut layers = Vec::with_capacity(d.layers);
        for l in 0..d.layers {
            let p = format!("{v}.encoder.layers.{l}");
            let mut qkv_rows = Vec::with_capacity(3 * h * h);
            let mut qkv_bias = Vec::with_capacity(3 * h);
            for (name, factor) in [("q_proj", scale), ("k_proj", 1.0), ("v_proj", 1.0)] {
                let w = get(&[h, h], &format!("{p}.self_attn.{name}.weight"))?;
                qkv_rows.extend(w.iter().map(|x| x * factor));
                let b = get(&[h], &format!("{p}.self_attn.{name}.bias"))?;
                qkv_bias.extend(b.iter().map(|x| x * factor));
            }
            layers.push(Layer {
                norm1: norm(&format!("{p}.layer_norm1"))?,
                qkv: transpose(&qkv_rows, 3 * h, h),
                qkv_bias,
                out: transpose(&get(&[h, h], &format!("{p}.self_attn.out_proj.weight"))?, h, h),
                out_bias: get(&[h], &format!("{p}.self_attn.out_proj.bias"))?,
                norm2: norm(&format!("{p}.layer_norm2"))?,
                fc1: transpose(&get(&[i, h], &format!("{p}.mlp.fc1.weight"))?, i, h),
                fc1_bias: get(&[i], &format!("{p}.mlp.fc1.bias"))?,
                fc2: transpose(&get(&[h, i], &format!("{p}.mlp.fc2.weight"))?, h, i),
                fc2_bias: get(&[h], &format!("{p}.mlp.fc2.bias"))?,
            });
        }
        let projection = get(&[d.projection, h], "visual_projection.weight")?;
        Ok(VitTower {
            dims: d,
            patch: transpose(&conv, h, d.patch_len()),
            class_and_positions,
            pre_norm: norm(&format!("{v}.pre_layrnorm"))?,
            layers,
            post_norm: norm(&format!("{v}.post_layernorm"))?,
            projection: transpose(&projection, d.projection, h),
        })
    }

    /// `get_image_features` of a `(n, channels, image, image)` pixel tensor: `n × projection`
    /// values, row-major, not normalised.
    pub fn forward_tensor(&self, pixels: &Tensor, ws: &mut Workspace) -> candle_core::Result<Vec<f32>> {
        let n = pixels.dim(0)?;
        let data = pixels.flatten_all()?.to_vec1::<f32>()?;
        Ok(self.forward(&data, n, ws))
    }

    /// [`VitTower::forward_tensor`] on raw pixel values (`n·channels·image²`, NCHW).
    pub fn forward(&self, pixels: &[f32], n: usize, ws: &mut Workspace) -> Vec<f32> {
        let d = self.dims;
        assert_eq!(
            pixels.len(),
            n * d.channels * d.image * d.image,
            "pixel batch size"
        );
        if n == 0 {
            return Vec::new();
        }
        ws.fit(&d, n);
        let (t, h) = (d.tokens(), d.hidden);
        let rows = n * t;
        self.embed_patches(pixels, n, ws);
        let x = &mut ws.x[..rows * h];
        layer_norm_rows(x, h, &self.pre_norm);
        // Only the class token's output is used: the last layer computes keys and values for every
        // token but attention, projection and MLP for the class tokens alone (7 % of the work).
        let every_token = Rows {
            queries: t,
            count: rows,
            stride: h,
        };
        let class_tokens = Rows {
            queries: 1,
            count: n,
            stride: t * h,
        };
        for (l, layer) in self.layers.iter().enumerate() {
            let rows = if l + 1 == self.layers.len() {
                class_tokens
            } else {
                every_token
            };
            self.attention_block(layer, n, rows, ws);
            self.mlp_block(layer, rows, ws);
        }
        // Post-LayerNorm of each image's class token, then the projection.
        let pooled = &mut ws.pooled[..n * h];
        for (b, out) in pooled.chunks_exact_mut(h).enumerate() {
            out.copy_from_slice(&ws.x[b * t * h..b * t * h + h]);
            layer_norm(out, &self.post_norm.weight, &self.post_norm.bias, LN_EPS);
        }
        let mut features = vec![0f32; n * d.projection];
        matmul(
            (n, h, d.projection),
            Strided::rows(pooled, h),
            Strided::rows(&self.projection, d.projection),
            (&mut features, d.projection),
            false,
            Parallelism::None,
        );
        features
    }

    /// Patch embedding (a strided convolution as one product over all patches), plus the class
    /// token and position embeddings, into `ws.x`.
    fn embed_patches(&self, pixels: &[f32], n: usize, ws: &mut Workspace) {
        let d = self.dims;
        let (g, p, s, h) = (d.grid(), d.patch, d.image, d.hidden);
        let (t, len) = (d.tokens(), d.patch_len());
        let patches = &mut ws.patches[..n * g * g * len];
        for (index, row) in patches.chunks_exact_mut(len).enumerate() {
            let (b, gy, gx) = (index / (g * g), index / g % g, index % g);
            for c in 0..d.channels {
                for ky in 0..p {
                    let src = ((b * d.channels + c) * s + gy * p + ky) * s + gx * p;
                    row[(c * p + ky) * p..][..p].copy_from_slice(&pixels[src..src + p]);
                }
            }
        }
        let embedded = &mut ws.embedded[..n * g * g * h];
        matmul(
            (n * g * g, len, h),
            Strided::rows(patches, len),
            Strided::rows(&self.patch, h),
            (embedded, h),
            false,
            all_threads(),
        );
        for (b, tokens) in ws.x[..n * t * h].chunks_exact_mut(t * h).enumerate() {
            tokens.copy_from_slice(&self.class_and_positions);
            for (x, e) in tokens[h..]
                .iter_mut()
                .zip(&embedded[b * (t - 1) * h..(b + 1) * (t - 1) * h])
            {
                *x += e;
            }
        }
    }

    /// `x += out_proj(attention(LayerNorm1(x)))` for the `out` rows of the residual stream; keys and
    /// values come from every token of the `n` images.
    fn attention_block(&self, layer: &Layer, n: usize, out: Rows, ws: &mut Workspace) {
        let d = self.dims;
        let (t, h, dh, tq) = (d.tokens(), d.hidden, d.head_dim(), out.queries);
        let rows = n * t;
        let normed = &mut ws.normed[..rows * h];
        normed.copy_from_slice(&ws.x[..rows * h]);
        layer_norm_rows(normed, h, &layer.norm1);
        let qkv = &mut ws.qkv[..rows * 3 * h];
        matmul(
            (rows, h, 3 * h),
            Strided::rows(normed, h),
            Strided::rows(&layer.qkv, 3 * h),
            (qkv, 3 * h),
            false,
            all_threads(),
        );
        qkv.par_chunks_mut(3 * h)
            .for_each(|row| add_bias(row, &layer.qkv_bias));
        // Per image, per head: softmax(Q·Kᵀ)·V into the head's columns of the context.
        // The first `tq` tokens of each image are its queries (the class token comes first).
        let context = &mut ws.context[..n * tq * h];
        context
            .par_chunks_mut(tq * h)
            .zip(qkv.par_chunks(t * 3 * h))
            .for_each_init(
                || vec![0f32; tq * t],
                |scores, (context, qkv)| {
                    for head in 0..d.heads {
                        let (q, k, v) = (head * dh, h + head * dh, 2 * h + head * dh);
                        let q = Strided::rows(&qkv[q..], 3 * h);
                        let k = Strided::transposed(&qkv[k..], 3 * h);
                        matmul((tq, dh, t), q, k, (scores, t), false, Parallelism::None);
                        for row in scores.chunks_exact_mut(t) {
                            softmax(row);
                        }
                        let v = Strided::rows(&qkv[v..], 3 * h);
                        let weights = Strided::rows(scores, t);
                        let out = &mut context[head * dh..];
                        matmul((tq, t, dh), weights, v, (out, h), false, Parallelism::None);
                    }
                },
            );
        let x = &mut ws.x[..rows * h];
        matmul(
            (out.count, h, h),
            Strided::rows(context, h),
            Strided::rows(&layer.out, h),
            (x, out.stride),
            true,
            all_threads(),
        );
        out.each_mut(x, h, |row| add_bias(row, &layer.out_bias));
    }

    /// `x += fc2(QuickGELU(fc1(LayerNorm2(x))))` for the `out` rows of the residual stream.
    fn mlp_block(&self, layer: &Layer, out: Rows, ws: &mut Workspace) {
        let d = self.dims;
        let (h, i) = (d.hidden, d.intermediate);
        let rows = out.count;
        let normed = &mut ws.normed[..rows * h];
        for (r, row) in normed.chunks_exact_mut(h).enumerate() {
            row.copy_from_slice(&ws.x[r * out.stride..r * out.stride + h]);
        }
        layer_norm_rows(normed, h, &layer.norm2);
        let mlp = &mut ws.mlp[..rows * i];
        matmul(
            (rows, h, i),
            Strided::rows(normed, h),
            Strided::rows(&layer.fc1, i),
            (mlp, i),
            false,
            all_threads(),
        );
        mlp.par_chunks_mut(i)
            .for_each(|row| quick_gelu_bias(row, &layer.fc1_bias));
        let x = &mut ws.x[..out.count * out.stride];
        matmul(
            (rows, i, h),
            Strided::rows(mlp, i),
            Strided::rows(&layer.fc2, h),
            (x, out.stride),
            true,
            all_threads(),
        );
        out.each_mut(x, h, |row| add_bias(row, &layer.fc2_bias));
    }
}

/// The rows of the residual stream a block updates: every token, or each image's class token.
#[derive(Clone, Copy)]
struct Rows {
    /// Query tokens per image (the first ones: the class token comes first).
    queries: usize,
    /// Rows updated.
    count: usize,
    /// Distance between them in the stream.
    stride: usize,
}

impl Rows {
    /// Apply `f` to the first `width` values of each row, in parallel.
    fn each_mut(&self, x: &mut [f32], width: usize, f: impl Fn(&mut [f32]) + Sync) {
        x.par_chunks_mut(self.stride)
            .take(self.count)
            .for_each(|row| f(&mut row[..width]));
    }
}

/// LayerNorm of every `width`-long row of `x`, in place, rows in parallel.
fn layer_norm_rows(x: &mut [f32], width: usize, norm: &Norm) {
    x.par_chunks_mut(width)
        .for_each(|row| layer_norm(row, &norm.weight, &norm.bias, LN_EPS));
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Module, Tensor};
    use candle_nn::{Init, VarBuilder, VarMap};
    use candle_transformers::models::clip::vision_model::ClipVisionTransformer;

    use super::{VitTower, Workspace};
    use crate::clip::ClipVisionConfig;

    /// A small tower with every tensor random (not Candle's zero default), and both forward passes.
    fn random_tower(config: &ClipVisionConfig) -> (VarMap, VitTower) {
        let varmap = config
            .random_weights(|name| {
                let mean = if name.contains("norm") && name.ends_with(".weight") {
                    1.0
                } else {
                    0.0
                };
                Init::Randn { mean, stdev: 0.2 }
            })
            .unwrap();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let tower = VitTower::from_var_builder(&vb, config.dims()).unwrap();
        (varmap, tower)
    }

    #[test]
    fn vit_b32_costs_the_published_4_4_g_multiply_adds() {
        // 49 patches × 3072 × 768 + 12 × (50 × 768 × 9216 + 2 × 50² × 768) + 768 × 512.
        assert_eq!(
            ClipVisionConfig::vit_b32().multiply_adds_per_image(),
            4_408_811_520
        );
    }

    #[test]
    fn gemm_forward_matches_candles_clip_tower() {
        let config = ClipVisionConfig {
            hidden_size: 64,
            intermediate_size: 96,
            num_hidden_layers: 3,
            num_attention_heads: 4,
            image_size: 40,
            patch_size: 8,
            projection_dim: 24,
            ..ClipVisionConfig::vit_b32()
        };
        let (varmap, tower) = random_tower(&config);
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let reference = ClipVisionTransformer::new(vb.pp("vision_model"), &config.to_candle()).unwrap();
        let projection = candle_nn::linear_no_bias(64, 24, vb.pp("visual_projection")).unwrap();
        // 5 images: an odd batch, so no size happens to line up with a kernel's block.
        let pixels = Tensor::randn(0f32, 1.0, (5, 3, 40, 40), &Device::Cpu).unwrap();
        let want = projection
            .forward(&reference.forward(&pixels).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let mut ws = Workspace::default();
        let got = tower.forward_tensor(&pixels, &mut ws).unwrap();
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0f32, |m, x| m.max(x.abs()));
        let worst = got.iter().zip(&want).fold(0f32, |m, (g, w)| m.max((g - w).abs()));
        assert!(
            worst <= 1e-4 * scale.max(1.0),
            "max |diff| {worst} (values up to {scale})"
        );
        // Buffers reused by a smaller batch give the same rows as a fresh pass.
        let first = pixels.narrow(0, 0, 2).unwrap();
        let again = tower.forward_tensor(&first, &mut ws).unwrap();
        assert_eq!(
            again,
            tower.forward_tensor(&first, &mut Workspace::default()).unwrap()
        );
        assert!(again
            .iter()
            .zip(&got)
            .all(|(a, b)| (a - b).abs() <= 1e-5 * scale.max(1.0)));
    }
}
