//! What to label next: unlabelled implants ordered so the first ones teach the library most.
//!
//! Why not the oldest first: an implant whose neighbours already agree adds little, while one the
//! vote cannot decide, or one far from anything labelled (a system the library has not seen yet),
//! changes what every later suggestion says. Near copies of an implant already ranked are put
//! after the others, so the top of the list is spread over the library rather than ten views of
//! one film.

use std::collections::HashSet;

use rayon::prelude::*;
use serde::Serialize;

use super::identify::{Candidate, Searcher};

/// Unlabelled neighbours an implant covers when it is ranked (they move down the list).
const COVERS: usize = 4;
/// Similarity from which a covered neighbour counts as showing the same thing.
const COVER_SIMILARITY: f32 = 0.9;

/// One unlabelled implant and why it ranks where it does.
#[derive(Debug, Clone, Serialize)]
pub struct NextItem {
    /// The implant.
    pub id: i64,
    /// Higher first: uncertainty plus novelty.
    pub score: f32,
    /// 1 minus the vote's margin between its two best systems (1 when nothing is labelled near).
    pub uncertainty: f32,
    /// 1 minus the similarity of the nearest labelled implant, scaled so the most novel is 1.
    pub novelty: f32,
    /// What the vote suggests today, if anything.
    pub suggestion: Option<Candidate>,
}

/// Every unlabelled implant with a vector, in the order worth labelling (see the module notes).
pub fn label_next(searcher: &Searcher, k: usize) -> Vec<NextItem> {
    let labelled: HashSet<i64> = searcher.labelled_ids().into_iter().collect();
    let unlabelled: Vec<i64> = searcher
        .index
        .ids()
        .iter()
        .copied()
        .filter(|id| !labelled.contains(id))
        .collect();
    let mut items: Vec<(NextItem, f32)> = unlabelled
        .par_iter()
        .filter_map(|&id| {
            let (candidates, neighbours) = searcher.vote_for(id, k)?;
            let share = |i: usize| candidates.get(i).map_or(0.0, |c| c.score);
            let uncertainty = if candidates.is_empty() {
                1.0
            } else {
                1.0 - (share(0) - share(1))
            };
            let nearest = neighbours.first().map_or(0.0, |n| n.similarity);
            Some((
                NextItem {
                    id,
                    score: 0.0,
                    uncertainty,
                    novelty: 0.0,
                    suggestion: candidates.into_iter().next(),
                },
                1.0 - nearest,
            ))
        })
        .collect();
    let most_novel = items.iter().map(|i| i.1).fold(0.0f32, f32::max);
    for (item, distance) in &mut items {
        item.novelty = if most_novel > 0.0 {
            (*distance / most_novel).max(0.0)
        } else {
            0.0
        };
        item.score = item.uncertainty + item.novelty;
    }
    let mut ranked: Vec<NextItem> = items.into_iter().map(|i| i.0).collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    spread(searcher, ranked, &labelled)
}

/// Keep the score order, but move each implant that a better-ranked one covers (a near copy
/// among its nearest unlabelled neighbours) behind every uncovered one.
fn spread(searcher: &Searcher, ranked: Vec<NextItem>, labelled: &HashSet<i64>) -> Vec<NextItem> {
    let covers: Vec<Vec<i64>> = ranked
        .par_iter()
        .map(|item| {
            let Some(query) = searcher.index.vector(item.id) else {
                return Vec::new();
            };
            searcher
                .index
                .search(query, COVERS, &|other| {
                    other != item.id && !labelled.contains(&other)
                })
                .into_iter()
                .filter(|&(_, s)| s >= COVER_SIMILARITY)
                .map(|(other, _)| other)
                .collect()
        })
        .collect();
    let mut covered: HashSet<i64> = HashSet::new();
    let (mut first, mut later) = (Vec::new(), Vec::new());
    for (item, near) in ranked.into_iter().zip(covers) {
        if covered.contains(&item.id) {
            later.push(item);
        } else {
            covered.extend(near);
            first.push(item);
        }
    }
    first.extend(later);
    first
}
