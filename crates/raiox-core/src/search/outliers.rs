//! Outliers of their system: labelled implants that look unlike the rest of their own system.
//!
//! Why besides likely mislabels: a mislabel sits among another system's implants; an outlier sits
//! far from everything of its own system (a bad crop, a foreign object boxed, a film of another
//! modality) even when no other system claims it. Both deserve a look, for different reasons.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use super::identify::{Neighbour, Searcher};

/// Members a system needs before its spread means anything.
const MIN_SYSTEM: usize = 5;
/// Robust z-score (median / MAD of the system's typicality) from which an implant is an outlier.
const OUTLIER_Z: f32 = 3.0;

/// A labelled implant far from the rest of its system.
#[derive(Debug, Clone, Serialize)]
pub struct Outlier {
    /// The implant.
    pub id: i64,
    /// Its label: manufacturer.
    pub manufacturer: String,
    /// Its label: system.
    pub system: String,
    /// Mean cosine to its `k` nearest implants of the same system.
    pub typicality: f32,
    /// The system's median typicality.
    pub system_median: f32,
    /// How far below the median, in robust standard deviations (most unusual first).
    pub score: f32,
    /// Its nearest implants of its own system (the evidence).
    pub nearest_own: Vec<Neighbour>,
}

/// An implant, its label, its typicality and its nearest implants of the same system.
type Scored<'a> = (i64, (&'a str, &'a str), f32, Vec<Neighbour>);

/// Labelled implants whose mean similarity to their `k` nearest same-system implants lies more
/// than [`OUTLIER_Z`] robust standard deviations below their system's median, most unusual first.
pub fn outliers(searcher: &Searcher, k: usize) -> Vec<Outlier> {
    let ids = searcher.labelled_ids();
    let k = k.max(1);
    let mut size: HashMap<(&str, &str), usize> = HashMap::new();
    for &id in &ids {
        if let Some(label) = searcher.label_of(id) {
            *size.entry(label).or_default() += 1;
        }
    }
    let scored: Vec<Scored> = ids
        .par_iter()
        .filter_map(|&id| {
            let label = searcher.label_of(id)?;
            if size[&label] < MIN_SYSTEM {
                return None;
            }
            let query = searcher.index.vector(id)?;
            let own = searcher.index.search(query, k, &|other| {
                other != id && searcher.label_of(other) == Some(label)
            });
            let typicality = own.iter().map(|n| n.1).sum::<f32>() / own.len().max(1) as f32;
            let nearest = own.into_iter().map(|(n, s)| searcher.neighbour(n, s)).collect();
            Some((id, label, typicality, nearest))
        })
        .collect();
    let mut per_system: HashMap<(&str, &str), Vec<f32>> = HashMap::new();
    for (_, label, t, _) in &scored {
        per_system.entry(*label).or_default().push(*t);
    }
    let spread: HashMap<(&str, &str), (f32, f32)> = per_system
        .into_iter()
        .map(|(label, mut t)| {
            let centre = median(&mut t);
            let mut deviations: Vec<f32> = t.iter().map(|x| (x - centre).abs()).collect();
            // 1.4826 × MAD estimates the standard deviation of a normal sample.
            let sigma: f32 = 1.4826 * median(&mut deviations);
            (label, (centre, sigma.max(1e-4)))
        })
        .collect();
    let mut found: Vec<Outlier> = scored
        .into_iter()
        .filter_map(|(id, label, typicality, nearest_own)| {
            let (median, sigma) = spread[&label];
            let score = (median - typicality) / sigma;
            (score >= OUTLIER_Z).then(|| Outlier {
                id,
                manufacturer: label.0.to_string(),
                system: label.1.to_string(),
                typicality,
                system_median: median,
                score,
                nearest_own,
            })
        })
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    found
}

/// The median of a non-empty sample (reorders it); 0 for an empty one.
fn median(values: &mut [f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mid = values.len() / 2;
    values.select_nth_unstable_by(mid, f32::total_cmp);
    values[mid]
}
