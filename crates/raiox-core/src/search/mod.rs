//! Identification and near-duplicate detection: the nearest labelled implants vote, with an honest
//! "unknown", and the 2-D map of the whole library. Reads vectors from the catalogue and searches them with [`crate::index::Index`]; never
//! computes embeddings itself.
pub mod groups;
pub mod head;
pub mod identify;
pub mod map;
pub mod neardup;
pub mod next;
pub mod outliers;
pub mod projection;
pub mod review;
