//! Raiox Studio's encoders on Candle: CLIP ViT-B/32 and the bundled EfficientNet-Lite0, and the
//! rule that picks one for a library.
//!
//! Why a crate: Candle is the heaviest dependency; the core only knows the
//! [`raiox_core::embed::Encoder`] trait, so it builds and tests without it.

pub mod clip;
pub mod head;
pub mod lite0;
pub mod select;
mod simd;
mod vit;

/// The repository's `models/` folder, where a development checkout keeps the weights (this crate
/// sits two levels below the repository root).
pub fn source_models_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}
