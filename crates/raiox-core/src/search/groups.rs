//! Groups of copies in the library: implants with identical standard images (exact), then those
//! whose embeddings are nearly identical (near), for the review queue.
//!
//! Why groups and not pairs: a film imported three times under different bytes is one decision for
//! the curator (keep one, merge the labels), not three. Pairs above the threshold are joined
//! transitively (union–find), so a group is what a curator would call "the same picture".

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::Serialize;

use super::identify::Searcher;

/// Nearest neighbours looked at per implant when linking near copies.
const LINKS_PER_IMPLANT: usize = 8;

/// One implant of a duplicate group.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// The implant.
    pub id: i64,
    /// Its label (manufacturer, system), if labelled.
    pub label: Option<(String, String)>,
}

/// Implants that look like copies of one picture.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateGroup {
    /// Its implants, lowest id (the oldest) first.
    pub members: Vec<Member>,
    /// True when every member has the same standard image.
    pub exact: bool,
    /// The highest similarity between two members (1 for exact copies).
    pub similarity: f32,
    /// True when members carry different labels (the merge needs the curator's choice).
    pub conflicting_labels: bool,
}

impl DuplicateGroup {
    /// The members' ids.
    pub fn ids(&self) -> Vec<i64> {
        self.members.iter().map(|m| m.id).collect()
    }

    /// What identifies the group for "checked" marks: its sorted ids (a new copy makes a new group).
    pub fn signature(&self) -> String {
        let ids: Vec<String> = self.ids().iter().map(i64::to_string).collect();
        ids.join(",")
    }

    /// The label a merge keeps: the members' one label when they agree, else none.
    pub fn merged_label(&self) -> Option<(String, String)> {
        let mut labels = self.members.iter().filter_map(|m| m.label.clone());
        let first = labels.next()?;
        labels.all(|l| l == first).then_some(first)
    }
}

/// Disjoint sets over positions.
struct Sets(Vec<usize>);

impl Sets {
    fn root(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.root(a), self.root(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
}

/// Every group of two or more implants that are exact copies (same standard image, from
/// `standards`: id and standard SHA-256) or near copies (cosine ≥ `threshold` between their
/// vectors); exact groups first, then by similarity, highest first.
pub fn duplicate_groups(
    searcher: &Searcher,
    standards: &[(i64, String)],
    threshold: f32,
) -> Vec<DuplicateGroup> {
    let mut ids: Vec<i64> = standards.iter().map(|s| s.0).collect();
    ids.extend(searcher.index.ids());
    ids.sort_unstable();
    ids.dedup();
    let at: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let mut sets = Sets((0..ids.len()).collect());
    let mut best = vec![0.0f32; ids.len()];
    let mut by_sha: HashMap<&str, usize> = HashMap::new();
    for (id, sha) in standards {
        let i = at[id];
        if let Some(&j) = by_sha.get(sha.as_str()) {
            sets.join(i, j);
            best[i] = 1.0;
            best[j] = 1.0;
        } else {
            by_sha.insert(sha, i);
        }
    }
    let links: Vec<(i64, i64, f32)> = searcher
        .index
        .ids()
        .par_iter()
        .flat_map_iter(|&id| {
            let query = searcher.index.vector(id).unwrap_or_default();
            searcher
                .index
                .search(query, LINKS_PER_IMPLANT, &|other| other != id)
                .into_iter()
                .take_while(|&(_, s)| s >= threshold)
                .map(move |(other, s)| (id, other, s))
        })
        .collect();
    for (a, b, s) in links {
        let (i, j) = (at[&a], at[&b]);
        sets.join(i, j);
        best[i] = best[i].max(s);
        best[j] = best[j].max(s);
    }
    let sha_of: HashMap<i64, &str> = standards.iter().map(|(id, sha)| (*id, sha.as_str())).collect();
    let mut grouped: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..ids.len() {
        let r = sets.root(i);
        grouped.entry(r).or_default().push(i);
    }
    let mut groups: Vec<DuplicateGroup> = grouped
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|g| {
            let members: Vec<Member> = g
                .iter()
                .map(|&i| Member {
                    id: ids[i],
                    label: searcher
                        .label_of(ids[i])
                        .map(|(m, s)| (m.to_string(), s.to_string())),
                })
                .collect();
            let first_sha = sha_of.get(&ids[g[0]]);
            let exact = first_sha.is_some() && g.iter().all(|&i| sha_of.get(&ids[i]) == first_sha);
            let mut labels: Vec<&(String, String)> =
                members.iter().filter_map(|m| m.label.as_ref()).collect();
            labels.sort();
            labels.dedup();
            DuplicateGroup {
                conflicting_labels: labels.len() > 1,
                similarity: if exact {
                    1.0
                } else {
                    g.iter().map(|&i| best[i]).fold(0.0, f32::max)
                },
                exact,
                members,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.exact
            .cmp(&a.exact)
            .then(b.similarity.total_cmp(&a.similarity))
            .then(a.members[0].id.cmp(&b.members[0].id))
    });
    groups
}
