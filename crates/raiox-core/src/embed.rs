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

/// Which picture of an implant a vector describes (see [`crate::standardise::view`]).
///
/// Why two: the standard image with its context answers "is this the same implant?" (copies,
/// re-scans, `similar`); the fixture alone answers "which system is this?" (identify, suggestions,
/// the review, the learned head, the map). Each view's vectors are stored as if from an encoder of
/// their own, so they are never compared with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The standard image: the fixture and a quarter of its length of context on every side.
    Context,
    /// The fixture alone ([`crate::standardise::view::fixture_view`]).
    Fixture,
}

/// Version of the fixture view's derivation; bump when it changes so its vectors are recomputed.
const FIXTURE_VIEW_VERSION: u32 = 1;

impl View {
    /// Both views, in the order the embedding job computes them.
    pub const ALL: [View; 2] = [View::Context, View::Fixture];

    /// The stamp of `encoder`'s vectors of this view.
    pub fn stamp(self, encoder: &dyn Encoder) -> ModelStamp {
        let stamp = encoder.stamp();
        match self {
            View::Context => stamp,
            View::Fixture => ModelStamp {
                encoder_id: format!("{}-fixture", stamp.encoder_id),
                preprocess_version: stamp.preprocess_version * 1000 + FIXTURE_VIEW_VERSION,
                ..stamp
            },
        }
    }
}

impl ModelStamp {
    /// The key learned heads are stored under: a head belongs to one encoder's weights and one
    /// view (a head trained on one view's vectors means nothing for the other's).
    pub fn head_key(&self) -> String {
        format!("{}@{}", self.encoder_id, self.weights_sha256)
    }
}

/// Scale a vector to unit length in place (a zero vector stays zero).
pub fn l2_normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}
