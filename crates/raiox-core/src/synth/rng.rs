//! Deterministic SplitMix64 random numbers, so every film depends only on (seed, class, sample).

/// SplitMix64: tiny, fast and statistically good enough for procedural textures and poses.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

/// The SplitMix64 increment (2^64 / golden ratio).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// One SplitMix64 finalisation step: a strong 64-bit mixing function.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a name: a stable class key that does not depend on catalogue order.
pub(crate) fn name_key(parts: &[&str]) -> u64 {
    let mut h = 0xCBF2_9CE4_8422_2325u64;
    for byte in parts.iter().flat_map(|p| p.bytes().chain([0])) {
        h = (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3);
    }
    h
}

impl Rng {
    /// A generator for one film, keyed by the job seed, the class key and the sample index.
    pub(crate) fn for_film(seed: u64, class_key: u64, sample: usize) -> Self {
        Rng(mix(seed ^ mix(class_key ^ mix(sample as u64))))
    }

    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let out = mix(self.0);
        self.0 = self.0.wrapping_add(GOLDEN);
        out
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in [lo, hi).
    pub(crate) fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    /// Approximately standard-normal noise from four 16-bit uniforms (Irwin-Hall, one draw).
    pub(crate) fn gaussish(&mut self) -> f32 {
        let r = self.next_u64();
        let sum = (r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48);
        // Mean 2, variance 4 / 12 in units of 65536.
        (sum as f32 * (1.0 / 65536.0) - 2.0) * 1.732_050_8
    }
}
