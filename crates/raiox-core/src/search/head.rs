//! Judging a learned head: a seeded held-out split of the labels, and identification of the
//! held-out implants with and without it.
//!
//! Why measured before use: a head trained on a few examples per system can fit them and still
//! generalise worse; it is switched on only when identification of implants it never saw improves.
//! The held-out split is per system and seeded, so a figure can be reproduced.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::identify::Searcher;
pub use super::projection::Head;
use crate::synth::rng::mix;

/// A seeded split of the labelled implants into training and held-out ones: `fraction` of each
/// system held out (at least one when the system has three or more, none otherwise).
pub fn split(searcher: &Searcher, fraction: f64, seed: u64) -> (Vec<i64>, Vec<i64>) {
    let mut by_system: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for id in searcher.labelled_ids() {
        if let Some((m, s)) = searcher.label_of(id) {
            by_system
                .entry((m.to_string(), s.to_string()))
                .or_default()
                .push(id);
        }
    }
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for mut ids in by_system.into_values() {
        ids.sort_by_key(|&id| mix(seed ^ mix(id as u64)));
        let n = if ids.len() >= 3 {
            ((ids.len() as f64 * fraction).round() as usize).clamp(1, ids.len() - 2)
        } else {
            0
        };
        held.extend_from_slice(&ids[..n]);
        train.extend_from_slice(&ids[n..]);
    }
    train.sort_unstable();
    held.sort_unstable();
    (train, held)
}

/// Identification of held-out implants against the others.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct HeldOut {
    /// Held-out implants identified.
    pub implants: usize,
    /// Share whose top-1 system is right.
    pub system_top1: f64,
}

/// Identify each `held` implant with the searcher as it is (frozen, or with its head) while the
/// held-out labels are hidden from the vote, then put them back.
pub fn held_out_top1(searcher: &mut Searcher, held: &[i64], k: usize) -> HeldOut {
    let hidden: Vec<(i64, (String, String))> = held
        .iter()
        .filter_map(|&id| Some((id, searcher.forget_label_in_memory(id)?)))
        .collect();
    let right = hidden
        .par_iter()
        .filter(|(id, (m, s))| {
            searcher
                .vote_for(*id, k)
                .and_then(|(c, _)| c.into_iter().next())
                .is_some_and(|top| &top.manufacturer == m && &top.system == s)
        })
        .count();
    for (id, (m, s)) in &hidden {
        searcher.set_label_in_memory(*id, m, s);
    }
    HeldOut {
        implants: hidden.len(),
        system_top1: right as f64 / hidden.len().max(1) as f64,
    }
}
