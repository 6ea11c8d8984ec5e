//! A learned head in use: a linear projection of the frozen vectors (and of every query) into a
//! smaller space where implants of one system lie closer together.
//!
//! Why apart from training and judging it: the searcher needs only the projection, and training
//! (Candle) lives in the encoders' crate above the core.

use rayon::prelude::*;

use crate::catalogue::heads::StoredHead;
use crate::index::Index;

/// A linear projection to a smaller space where implants of one system lie closer together.
#[derive(Debug, Clone)]
pub struct Head {
    /// Version in the library (0 for one not stored yet).
    pub id: i64,
    /// Input dimension.
    pub in_dim: usize,
    /// Output dimension.
    pub out_dim: usize,
    /// `in_dim × out_dim`, row-major.
    pub weights: Vec<f32>,
}

impl From<StoredHead> for Head {
    fn from(h: StoredHead) -> Head {
        Head {
            id: h.id,
            in_dim: h.in_dim,
            out_dim: h.out_dim,
            weights: h.weights,
        }
    }
}

impl Head {
    /// The unit vector of `v` in the head's space (zero stays zero).
    pub fn project(&self, v: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0f32; self.out_dim];
        for (x, row) in v.iter().zip(self.weights.chunks_exact(self.out_dim)) {
            for (acc, w) in y.iter_mut().zip(row) {
                *acc += x * w;
            }
        }
        let norm = y.iter().map(|a| a * a).sum::<f32>().sqrt();
        if norm > 0.0 {
            y.iter_mut().for_each(|a| *a /= norm);
        }
        y
    }

    /// Every vector of a frozen index, projected (ids kept).
    pub fn project_index(&self, frozen: &Index) -> Index {
        let items: Vec<(i64, Vec<f32>)> = frozen
            .ids()
            .par_iter()
            .filter_map(|&id| Some((id, self.project(frozen.vector(id)?))))
            .collect();
        Index::build(items, self.out_dim)
    }
}
