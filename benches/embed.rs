//! Embedding throughput on this machine's cores: the bundled EfficientNet-Lite0 and the CLIP
//! ViT-B/32 image tower (random weights of the real architecture: speed does not depend on values).
//!
//! Run: `cargo bench --bench embed`; the anchor `benches/anchors/embed_torch.py` runs the same
//! two networks in PyTorch with 2 threads and batch 16 for the side-by-side ratio.
//! Reports images/s and, for CLIP, GFLOP/s at 8.8 GFLOP (4.41 G multiply-adds) per image. The measurement is
//! `raiox::bench::measure::embed_rate`, the one `raiox bench` runs.

use raiox::bench::measure::{clip_gflop_per_image, embed_rate, random_clip};
use raiox::embed::lite0::Lite0Encoder;
use raiox::synth::{render, systems};

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let (batch, repeats) = if quick { (2, 1) } else { (16, 3) };
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
    let lite0 = Lite0Encoder::bundled().expect("bundled Lite0 weights");
    let ips = embed_rate(&lite0, &images, repeats).expect("embed");
    println!(
        "lite0-imagenet  batch {batch}: {:.1} images/s (min {:.1}, max {:.1})",
        ips.median, ips.min, ips.max
    );
    let clip = random_clip().expect("ViT-B/32");
    let ips = embed_rate(&clip, &images, repeats).expect("embed");
    println!(
        "clip-vit-b32    batch {batch}: {:.1} images/s = {:.0} GFLOP/s (min {:.1}, max {:.1} images/s)",
        ips.median,
        ips.median * clip_gflop_per_image(),
        ips.min,
        ips.max
    );
}
