//! Similarity search over stored embeddings: the sqlite-vec store, the fast in-memory index and
//! identification by a vote of the nearest labelled images. Never computes embeddings itself.
pub mod identify;
pub mod index;
pub mod neardup;
pub mod store;
