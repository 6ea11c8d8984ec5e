//! Image embeddings computed locally with Candle, behind one small trait.
//!
//! Why a trait: the library stores vectors from several encoders (the bundled EfficientNet-Lite0 that
//! works with no download, CLIP ViT-B/32 when its weights are present). Every vector records the
//! encoder id, the weights' SHA-256 and the preprocessing version, so vectors of different models
//! are never compared. The models never touch the database; the embedding job stores their vectors.

use image::GrayImage;

use crate::Error;

/// A model that turns standardised 224×224 gray images into L2-normalised vectors.
pub trait Encoder: Send + Sync {
    /// Stable identifier stored with every vector ("lite0-imagenet", "clip-vit-b32").
    fn id(&self) -> &str;
    /// Vector length.
    fn dim(&self) -> usize;
    /// SHA-256 (hex) of the weights file the encoder was loaded from.
    fn weights_sha256(&self) -> &str;
    /// Version of the preprocessing; bump when it changes so stored vectors are recomputed.
    fn preprocess_version(&self) -> u32;
    /// Embed a batch of standardised images; one L2-normalised vector per image, in order.
    fn embed(&self, images: &[GrayImage]) -> Result<Vec<Vec<f32>>, Error>;
    /// The provenance stamp stored with each of this encoder's vectors.
    fn stamp(&self) -> ModelStamp {
        ModelStamp {
            encoder_id: self.id().to_string(),
            weights_sha256: self.weights_sha256().to_string(),
            preprocess_version: self.preprocess_version(),
            dim: self.dim(),
        }
    }
}

/// The provenance of a stored vector: which model, which weights, which preprocessing, which image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStamp {
    /// Encoder id.
    pub encoder_id: String,
    /// SHA-256 of the weights.
    pub weights_sha256: String,
    /// Preprocessing version.
    pub preprocess_version: u32,
    /// Vector length.
    pub dim: usize,
}

/// Scale a vector to unit length in place (a zero vector stays zero).
pub fn l2_normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}
