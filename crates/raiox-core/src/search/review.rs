//! What the curators should look at: suggested labels for an implant, and the labelled implants
//! whose neighbours disagree with their label (likely mislabels), with the evidence.
//!
//! Why from the neighbour vote: it is the same vote `identify` answers with, so a suggestion and an
//! identification of the same implant agree, and a label the vote contradicts with confidence is the
//! one most worth a second look. Everything here reads the library; fixing is the curator's call.

use rayon::prelude::*;
use serde::Serialize;

use super::identify::{Candidate, Neighbour, Searcher};
use crate::synth::rng::mix;

/// Systems a suggestion offers (the picker's keys 1–3).
pub const SUGGESTIONS: usize = 3;

/// What an implant's neighbours say it is.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// The implant.
    pub id: i64,
    /// Its current label, if any.
    pub label: Option<(String, String)>,
    /// The top systems of the vote with their share, best first (at most [`SUGGESTIONS`]).
    pub candidates: Vec<Candidate>,
    /// The labelled neighbours that voted.
    pub neighbours: Vec<Neighbour>,
}

/// Suggested labels for a library implant; `None` when it has no vector of the searcher's encoder.
pub fn suggest(searcher: &Searcher, id: i64, k: usize) -> Option<Suggestion> {
    let (mut candidates, neighbours) = searcher.vote_for(id, k)?;
    candidates.truncate(SUGGESTIONS);
    Some(Suggestion {
        id,
        label: searcher.label_of(id).map(|(m, s)| (m.to_string(), s.to_string())),
        candidates,
        neighbours,
    })
}

/// A labelled implant its neighbours place in another system.
#[derive(Debug, Clone, Serialize)]
pub struct LikelyMislabel {
    /// The implant.
    pub id: i64,
    /// Its label: manufacturer.
    pub manufacturer: String,
    /// Its label: system.
    pub system: String,
    /// What the vote says instead.
    pub suggested: Candidate,
    /// The vote's share for its own label (0 when no neighbour has it).
    pub own_share: f32,
    /// How sure the review is: the suggestion's share minus the own label's.
    pub confidence: f32,
    /// The neighbours that disagree with the label, nearest first.
    pub evidence: Vec<Neighbour>,
}

/// Every labelled implant whose leave-one-out vote puts another system first, most confident first.
///
/// Why ranked by the margin of the vote: a flipped label sits among neighbours of its true system,
/// which outvote it by a wide margin, while a genuinely ambiguous implant splits the vote.
pub fn likely_mislabels(searcher: &Searcher, k: usize) -> Vec<LikelyMislabel> {
    let mut found: Vec<LikelyMislabel> = searcher
        .labelled_ids()
        .par_iter()
        .filter_map(|&id| {
            let (manufacturer, system) = searcher.label_of(id)?;
            let (candidates, neighbours) = searcher.vote_for(id, k)?;
            let is_own = |c: &Candidate| c.manufacturer == manufacturer && c.system == system;
            let top = candidates.first()?;
            if is_own(top) {
                return None;
            }
            let own_share = candidates.iter().find(|c| is_own(c)).map_or(0.0, |c| c.score);
            let evidence = neighbours
                .into_iter()
                .filter(|n| {
                    n.manufacturer.as_deref() != Some(manufacturer) || n.system.as_deref() != Some(system)
                })
                .collect();
            Some(LikelyMislabel {
                id,
                manufacturer: manufacturer.to_string(),
                system: system.to_string(),
                suggested: top.clone(),
                own_share,
                confidence: top.score - own_share,
                evidence,
            })
        })
        .collect();
    found.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.id.cmp(&b.id)));
    found
}

/// How well the review finds planted mistakes.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewCheck {
    /// Labelled implants with a vector.
    pub implants: usize,
    /// Labels flipped (in memory) to another system of the library.
    pub flipped: usize,
    /// Entries in the review queue.
    pub queue: usize,
    /// Share of the flipped labels among the first `2 × flipped` entries.
    pub recall_at_twice: f64,
}

/// Flip `fraction` of the labels (seeded, in memory only) to another system present in the library,
/// run [`likely_mislabels`], measure how many flipped labels are in the first `2 × flipped` entries
/// of the queue, and put the labels back.
///
/// Why: the review queue is only useful if the mistakes come first; this is its measurable goal.
pub fn check_with_flipped_labels(searcher: &mut Searcher, k: usize, fraction: f64, seed: u64) -> ReviewCheck {
    let ids = searcher.labelled_ids();
    let label = |s: &Searcher, id| s.label_of(id).map(|(m, sys)| (m.to_string(), sys.to_string()));
    let mut systems: Vec<(String, String)> = ids.iter().filter_map(|&id| label(searcher, id)).collect();
    systems.sort();
    systems.dedup();
    // A seeded shuffle: order by a hash of (seed, id), flip the first ones.
    let mut order = ids.clone();
    order.sort_by_key(|&id| mix(seed ^ mix(id as u64)));
    let want = if systems.len() < 2 {
        0
    } else {
        ((ids.len() as f64) * fraction).round() as usize
    };
    let mut originals = Vec::with_capacity(want);
    for &id in order.iter().take(want) {
        let Some(own) = label(searcher, id) else { continue };
        let others: Vec<&(String, String)> = systems.iter().filter(|s| **s != own).collect();
        let (m, s) = others[(mix(seed ^ id as u64) % others.len() as u64) as usize];
        searcher.set_label_in_memory(id, m, s);
        originals.push((id, own));
    }
    let queue = likely_mislabels(searcher, k);
    for (id, (m, s)) in &originals {
        searcher.set_label_in_memory(*id, m, s);
    }
    let flipped: std::collections::HashSet<i64> = originals.iter().map(|o| o.0).collect();
    let caught = queue
        .iter()
        .take(2 * flipped.len())
        .filter(|e| flipped.contains(&e.id))
        .count();
    ReviewCheck {
        implants: ids.len(),
        flipped: flipped.len(),
        queue: queue.len(),
        recall_at_twice: if flipped.is_empty() {
            1.0
        } else {
            caught as f64 / flipped.len() as f64
        },
    }
}
