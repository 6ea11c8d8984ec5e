//! What the curators should look at: suggested labels for an implant, and the labelled implants
//! whose neighbours disagree with their label (likely mislabels), with the evidence.
//!
//! Why from the neighbour vote: it is the same vote `identify` answers with, so a suggestion and an
//! identification of the same implant agree, and a label the vote contradicts with confidence is the
//! one most worth a second look. Everything here reads the library; fixing is the curator's call.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::groups::{duplicate_groups, DuplicateGroup};
use super::identify::{Candidate, Neighbour, Searcher};
use super::outliers::{outliers, Outlier};
use crate::catalogue::checks::{self, label_key, Kind};
use crate::catalogue::images;
use crate::library::Library;
use crate::synth::rng::mix;
use crate::Error;

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

/// Suggested labels for several implants at once (a multi-selection to label together): each
/// system's share of the vote averaged over those that have a vector, best first (at most
/// [`SUGGESTIONS`]).
pub fn suggest_together(searcher: &Searcher, ids: &[i64], k: usize) -> Vec<Candidate> {
    let mut total: BTreeMap<(String, String), f32> = BTreeMap::new();
    let mut voted = 0;
    for &id in ids {
        let Some((candidates, _)) = searcher.vote_for(id, k) else {
            continue;
        };
        voted += 1;
        for c in candidates {
            *total.entry((c.manufacturer, c.system)).or_default() += c.score;
        }
    }
    let mut found: Vec<Candidate> = total
        .into_iter()
        .map(|((manufacturer, system), score)| Candidate {
            manufacturer,
            system,
            score: score / voted.max(1) as f32,
        })
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    found.truncate(SUGGESTIONS);
    found
}

/// How many more neighbours the review counts than the vote it is asked for (`k`).
const REVIEW_BREADTH: usize = 5;

/// A labelled implant its neighbours place in another system.
#[derive(Debug, Clone, Serialize)]
pub struct LikelyMislabel {
    /// The implant.
    pub id: i64,
    /// Its label: manufacturer.
    pub manufacturer: String,
    /// Its label: system.
    pub system: String,
    /// The system most of its neighbours have, with their share.
    pub suggested: Candidate,
    /// The share of its neighbours with its own label.
    pub own_share: f32,
    /// How sure the review is: the suggestion's share minus the own label's.
    pub confidence: f32,
    /// The nearest neighbours that disagree with the label (at most `k`), nearest first.
    pub evidence: Vec<Neighbour>,
}

/// Every labelled implant most of whose `5 × k` nearest labelled neighbours (itself excluded; at
/// most half an average system's count, at least `k`) have another system, most certain first.
///
/// Why counted over a wide neighbourhood, unweighted: a flipped label sits among many implants of
/// its true system and almost none of its own, while an implant the encoder merely confuses keeps
/// some neighbours of its own system a little further out. On 1 640 synthetic restored implants
/// (Lite0) with 5 % of the labels flipped, ranking by this margin put 82–94 % of the flips in the
/// first 2 × flipped entries (three flip seeds), against 80 % for the margin of the
/// similarity-weighted `k`-vote that `identify` uses (which looks at the nearest few only).
pub fn likely_mislabels(searcher: &Searcher, k: usize) -> Vec<LikelyMislabel> {
    let ids = searcher.labelled_ids();
    // No wider than half an average system: a neighbourhood larger than the systems themselves
    // would be outvoted by other systems whatever the label.
    let half_system = ids.len() / (2 * searcher.systems().len().max(1));
    let breadth = k
        .max(1)
        .saturating_mul(REVIEW_BREADTH)
        .min(half_system)
        .max(k.max(1));
    let mut found: Vec<LikelyMislabel> = ids
        .par_iter()
        .filter_map(|&id| {
            let (manufacturer, system) = searcher.label_of(id)?;
            let (_, neighbours) = searcher.vote_for(id, breadth)?;
            let mut tally: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for n in &neighbours {
                if let (Some(m), Some(s)) = (n.manufacturer.as_deref(), n.system.as_deref()) {
                    *tally.entry((m, s)).or_default() += 1;
                }
            }
            let total = neighbours.len().max(1) as f32;
            let own = tally.get(&(manufacturer, system)).copied().unwrap_or(0);
            let (&(top_m, top_s), &top) = tally
                .iter()
                .max_by_key(|(key, count)| (**count, std::cmp::Reverse(*key)))?;
            if (top_m, top_s) == (manufacturer, system) || top == own {
                return None;
            }
            let disagrees = |n: &&Neighbour| {
                n.manufacturer.as_deref() != Some(manufacturer) || n.system.as_deref() != Some(system)
            };
            let evidence = neighbours.iter().filter(disagrees).take(k).cloned().collect();
            Some(LikelyMislabel {
                id,
                manufacturer: manufacturer.to_string(),
                system: system.to_string(),
                suggested: Candidate {
                    manufacturer: top_m.to_string(),
                    system: top_s.to_string(),
                    score: top as f32 / total,
                },
                own_share: own as f32 / total,
                confidence: (top - own) as f32 / total,
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
    let systems = searcher.systems();
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

/// The review queue: what the curators should look at, minus what they already checked.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewQueue {
    /// Labelled implants whose neighbours say another system, most certain first.
    pub mislabels: Vec<LikelyMislabel>,
    /// Groups of copies (exact, then near), most similar first.
    pub duplicates: Vec<DuplicateGroup>,
    /// Implants far from the rest of their system (not already listed as likely mislabels).
    pub outliers: Vec<Outlier>,
    /// Entries left out because a curator checked them as they are.
    pub hidden: usize,
}

/// Build the review queue of a library: likely mislabels (a `k`-vote), duplicate groups at cosine
/// ≥ `duplicate_threshold` among `copies`, outliers; entries checked with [`keep`] stay out until
/// they change.
///
/// Give it a searcher on the encoder's own vectors ([`Searcher::open_frozen`]): a learned head was
/// trained on the labels, mistakes included, and pulls a mislabelled implant into the cluster of
/// its wrong label — with one, the planted-mistake check found 35–46 % of them instead of 82–89 %.
/// `copies` searches the context view ([`crate::embed::View::Context`]): copies are the same
/// implant, which its surroundings tell, not only the same system.
pub fn queue(
    lib: &Library,
    searcher: &Searcher,
    copies: &Searcher,
    k: usize,
    duplicate_threshold: f32,
) -> Result<ReviewQueue, Error> {
    let checked = checks::all(lib.conn())?;
    let standards = images::standards(lib.conn())?;
    let seen = |id: i64, kind: Kind, now: &str| checked.get(&(id, kind)).is_some_and(|s| s == now);
    let mut hidden = 0;
    let mut mislabels = likely_mislabels(searcher, k);
    mislabels.retain(|m| {
        let keep = !seen(m.id, Kind::Mislabel, &label_key(&m.manufacturer, &m.system));
        hidden += usize::from(!keep);
        keep
    });
    let mut duplicates = duplicate_groups(copies, &standards, duplicate_threshold);
    duplicates.retain(|g| {
        let signature = g.signature();
        let keep = !g.ids().iter().all(|&id| seen(id, Kind::Duplicate, &signature));
        hidden += usize::from(!keep);
        keep
    });
    let listed: std::collections::HashSet<i64> = mislabels.iter().map(|m| m.id).collect();
    let mut found = outliers(searcher, k);
    found.retain(|o| {
        if listed.contains(&o.id) {
            return false;
        }
        let checked_now = seen(o.id, Kind::Outlier, &label_key(&o.manufacturer, &o.system));
        hidden += usize::from(checked_now);
        !checked_now
    });
    Ok(ReviewQueue {
        mislabels,
        duplicates,
        outliers: found,
        hidden,
    })
}

/// Mark `id` as checked by a curator in every list of `queue` it appears in, as it is now (its
/// label; its duplicate group): it leaves the queue until its label or its group changes. Returns
/// how many entries were marked.
pub fn keep(lib: &mut Library, queue: &ReviewQueue, id: i64) -> Result<usize, Error> {
    let tx = lib.conn_mut().transaction()?;
    let mut marked = 0;
    for m in queue.mislabels.iter().filter(|m| m.id == id) {
        checks::mark(&tx, id, Kind::Mislabel, &label_key(&m.manufacturer, &m.system))?;
        marked += 1;
    }
    for o in queue.outliers.iter().filter(|o| o.id == id) {
        checks::mark(&tx, id, Kind::Outlier, &label_key(&o.manufacturer, &o.system))?;
        marked += 1;
    }
    for g in queue.duplicates.iter().filter(|g| g.ids().contains(&id)) {
        let signature = g.signature();
        for member in g.ids() {
            checks::mark(&tx, member, Kind::Duplicate, &signature)?;
        }
        marked += 1;
    }
    tx.commit()?;
    Ok(marked)
}
