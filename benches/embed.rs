//! Embedding throughput on this machine's cores: the bundled EfficientNet-Lite0 and the CLIP
//! ViT-B/32 image tower (random weights of the real architecture: speed does not depend on values).
//!
//! Run: `cargo bench --bench embed`; the anchor `benches/anchors/clip_torch.py` runs the same
//! ViT-B/32 in PyTorch/transformers with 2 threads and batch 16 for the side-by-side ratio.
//! Reports images/s and, for CLIP, GFLOP/s at 4.4 GFLOP per image.

use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use raiox::embed::clip::{ClipImageEncoder, ClipVisionConfig};
use raiox::embed::lite0::Lite0Encoder;
use raiox::embed::Encoder;
use raiox::synth::{render, systems};

/// Images per second over `rounds` calls on `batch` images (after one warm-up call).
fn throughput(encoder: &dyn Encoder, batch: usize, rounds: usize) -> f64 {
    let images: Vec<image::GrayImage> = (0..batch)
        .map(|i| {
            image::imageops::resize(
                &render(&systems()[i % 8], i, 1, 224),
                224,
                224,
                image::imageops::FilterType::Triangle,
            )
        })
        .collect();
    encoder.embed(&images).expect("warm-up");
    let start = Instant::now();
    for _ in 0..rounds {
        encoder.embed(&images).expect("embed");
    }
    (batch * rounds) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let (batch, rounds) = if quick { (2, 1) } else { (16, 3) };
    let lite0 = Lite0Encoder::bundled().expect("bundled Lite0 weights");
    println!(
        "lite0-imagenet  batch {batch}: {:.1} images/s",
        throughput(&lite0, batch, rounds)
    );
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let clip = ClipImageEncoder::from_var_builder(vb, &ClipVisionConfig::vit_b32(), "random".into())
        .expect("ViT-B/32");
    let ips = throughput(&clip, batch, rounds);
    println!(
        "clip-vit-b32    batch {batch}: {ips:.1} images/s = {:.0} GFLOP/s",
        ips * 4.4
    );
}
