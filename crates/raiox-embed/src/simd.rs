//! The elementwise steps of the ViT forward pass (bias, LayerNorm, softmax, QuickGELU), each
//! compiled three times — AVX-512, AVX2 + FMA and the baseline — and picked at run time.
//!
//! Why: release builds target baseline x86-64 (SSE2), where these loops run four lanes wide and
//! `exp` is a libm call per value; between two matrix products of a transformer layer they would
//! take a quarter of its time. Written as plain loops over independent lanes (sums in 16
//! accumulators, a branch-free `exp` without float-to-int casts) so the compiler vectorises them for
//! each target; the baseline copy is for CPUs without AVX2 (and non-x86 targets), where on x86
//! `mul_add` is a library call and the kernels are correct but slow.

/// Defines `fn $name(args)` that runs `$body` compiled for the best instruction set the CPU has.
macro_rules! multiversioned {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn generic($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) {
                    generic($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    generic($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the instructions `avx512` was compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: as above, for AVX2 and FMA.
                    return unsafe { avx2($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}

/// Lanes of the sums: one AVX-512 register, so reductions vectorise without reordering a lane's
/// additions.
const LANES: usize = 16;

/// Sum of `values`, lane-wise then across lanes.
#[inline(always)]
fn sum(values: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (a, v) in acc.iter_mut().zip(chunk) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// `e^x` for `x` in f32's range, within 2 ulp (Cephes' `expf`: range reduction by ln 2 and a
/// degree-6 polynomial), without branches so that loops calling it vectorise.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.3, 88.3);
    let n = (x * LOG2E + 0.5).floor();
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, x));
    // Horner with fused multiply-adds (one instruction each on AVX2, AVX-512 and ARM).
    let p = 1.987_569_1e-4f32
        .mul_add(r, 1.398_199_9e-3)
        .mul_add(r, 8.333_452e-3)
        .mul_add(r, 4.166_579_6e-2)
        .mul_add(r, 1.666_666_5e-1)
        .mul_add(r, 0.5);
    let p = (p * r).mul_add(r, r) + 1.0;
    // 2^n without a float-to-int cast (which does not vectorise): adding 2^23 puts the integer
    // n + 127 (1..=254 after the clamp) in the low mantissa bits; shifted up, they are the exponent.
    let biased = (n + (127.0 + 8_388_608.0)).to_bits();
    p * f32::from_bits(biased << 23)
}

multiversioned! {
    /// `row += bias`.
    pub(crate) fn add_bias(row: &mut [f32], bias: &[f32]) {
        for (x, b) in row.iter_mut().zip(bias) {
            *x += b;
        }
    }
}

multiversioned! {
    /// `row = QuickGELU(row + bias)`, QuickGELU(v) = v · sigmoid(1.702 v) as in CLIP.
    pub(crate) fn quick_gelu_bias(row: &mut [f32], bias: &[f32]) {
        for (x, b) in row.iter_mut().zip(bias) {
            let v = *x + b;
            *x = v / (1.0 + exp(-1.702 * v));
        }
    }
}

multiversioned! {
    /// LayerNorm of one row in place: `(x - mean) / sqrt(var + eps) · weight + bias`, the
    /// variance biased, as PyTorch's.
    pub(crate) fn layer_norm(row: &mut [f32], weight: &[f32], bias: &[f32], eps: f32) {
        let width = row.len() as f32;
        let mean = sum(row) / width;
        let mut acc = [0f32; LANES];
        let chunks = row.chunks_exact(LANES);
        let rest: f32 = chunks.remainder().iter().map(|x| (x - mean) * (x - mean)).sum();
        for chunk in chunks {
            for (a, x) in acc.iter_mut().zip(chunk) {
                *a += (x - mean) * (x - mean);
            }
        }
        let var = (acc.iter().sum::<f32>() + rest) / width;
        let scale = 1.0 / (var + eps).sqrt();
        for ((x, w), b) in row.iter_mut().zip(weight).zip(bias) {
            *x = (*x - mean) * scale * w + b;
        }
    }
}

multiversioned! {
    /// Softmax of one row in place, shifted by its maximum.
    pub(crate) fn softmax(row: &mut [f32]) {
        let mut lanes = [f32::NEG_INFINITY; LANES];
        let chunks = row.chunks_exact(LANES);
        let rest = chunks.remainder().iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
        for chunk in chunks {
            for (m, &x) in lanes.iter_mut().zip(chunk) {
                *m = m.max(x);
            }
        }
        let max = lanes.iter().fold(rest, |m, &x| m.max(x));
        for x in row.iter_mut() {
            *x = exp(*x - max);
        }
        let scale = 1.0 / sum(row);
        for x in row.iter_mut() {
            *x *= scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp_of_libm_over_the_range() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp(x), x.exp());
            worst = worst.max(((got - want) / want).abs());
            x += 0.0137;
        }
        assert!(worst < 3.0 * f32::EPSILON, "worst relative error {worst}");
        assert_eq!(exp(-200.0), (-87.3f32).exp().max(exp(-200.0))); // clamped, not NaN or zero-crash
        assert!(exp(200.0).is_finite());
    }

    #[test]
    fn kernels_match_their_definitions() {
        let row: Vec<f32> = (0..37).map(|i| ((i * 7919) % 101) as f32 / 13.0 - 3.5).collect();
        let bias: Vec<f32> = (0..37).map(|i| i as f32 / 50.0 - 0.3).collect();
        let weight: Vec<f32> = (0..37).map(|i| 1.0 + i as f32 / 100.0).collect();

        let mut got = row.clone();
        quick_gelu_bias(&mut got, &bias);
        for ((g, x), b) in got.iter().zip(&row).zip(&bias) {
            let v = x + b;
            assert!((g - v / (1.0 + (-1.702 * v).exp())).abs() < 1e-6);
        }

        let mut got = row.clone();
        layer_norm(&mut got, &weight, &bias, 1e-5);
        let mean = row.iter().map(|&x| f64::from(x)).sum::<f64>() / 37.0;
        let var = row.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / 37.0;
        for (j, g) in got.iter().enumerate() {
            let want =
                (f64::from(row[j]) - mean) / (var + 1e-5).sqrt() * f64::from(weight[j]) + f64::from(bias[j]);
            assert!((f64::from(*g) - want).abs() < 1e-5, "{j}: {g} vs {want}");
        }

        let mut got = row.clone();
        softmax(&mut got);
        let max = row.iter().cloned().fold(f32::MIN, f32::max);
        let total: f64 = row.iter().map(|&x| f64::from(x - max).exp()).sum();
        for (g, x) in got.iter().zip(&row) {
            assert!((f64::from(*g) - f64::from(x - max).exp() / total).abs() < 1e-7);
        }

        let mut got = row.clone();
        add_bias(&mut got, &bias);
        assert!(got.iter().zip(&row).zip(&bias).all(|((g, x), b)| *g == x + b));
    }
}
