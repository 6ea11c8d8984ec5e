//! Near-duplicate warnings at import: a new image whose embedding (or its mirror's) is nearly
//! identical to one already in the library.
//!
//! Why: the same radiograph often arrives twice under different bytes — re-exported, re-compressed,
//! screenshotted, or flipped left–right. Exact hashes miss those; a near-identical embedding does
//! not. Left in, such copies inflate leave-one-out scores and bias identification.

use serde::Serialize;

use crate::catalogue::vectors;
use crate::embed::Encoder;
use crate::index::Index;
use crate::library::Library;
use crate::Error;

/// A warning: `id` looks like a copy of `of`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NearDuplicate {
    /// The newly imported image.
    pub id: i64,
    /// The library image it resembles.
    pub of: i64,
    /// Cosine similarity.
    pub similarity: f32,
    /// True when it is the mirror image that matched.
    pub mirrored: bool,
}

/// Cosine similarity above which two standard images are taken for copies of one radiograph.
///
/// Calibrated on synthetic films with the bundled encoder (tests/search.rs keeps it honest): a JPEG
/// re-compression at quality 75–90 of a film scores 0.91–0.98 against the original, a 6-pixel shift
/// 0.98, a mirrored copy 0.99 once flipped back; different films of the same system score ≤ 0.86.
pub fn threshold(encoder_id: &str) -> f32 {
    if encoder_id.starts_with("clip") {
        0.95
    } else {
        0.90
    }
}

/// Checks new images against the library and against each other as they arrive.
pub struct NearDupChecker {
    index: Index,
    limit: f32,
}

impl NearDupChecker {
    /// Load the library's current vectors of `encoder`.
    pub fn open(lib: &Library, encoder: &dyn Encoder) -> Result<Self, Error> {
        let stamp = encoder.stamp();
        let index = Index::build(vectors::load_all(lib.conn(), &stamp)?, stamp.dim);
        Ok(NearDupChecker {
            index,
            limit: threshold(encoder.id()),
        })
    }

    /// Compare a new image (its vector and its mirror's) with everything seen so far, then add it.
    pub fn check_and_add(&mut self, id: i64, vector: &[f32], mirrored: &[f32]) -> Option<NearDuplicate> {
        let mut best: Option<NearDuplicate> = None;
        for (query, is_mirror) in [(vector, false), (mirrored, true)] {
            if let Some(&(of, similarity)) = self.index.search(query, 1, &|other| other != id).first() {
                if similarity >= self.limit && best.as_ref().is_none_or(|b| similarity > b.similarity) {
                    best = Some(NearDuplicate {
                        id,
                        of,
                        similarity,
                        mirrored: is_mirror,
                    });
                }
            }
        }
        self.index.push(id, vector);
        best
    }
}
