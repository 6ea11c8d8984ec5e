//! "Which implant is this?": a similarity-weighted vote of the nearest labelled images, an honest
//! "unknown" when the evidence is weak or split, and leave-one-out evaluation of the whole library.
//!
//! Why calibrated on the library: what counts as "similar enough" depends on the encoder and on how
//! many systems and images the library holds. The thresholds are therefore chosen by leave-one-out
//! over the labelled images themselves (target: 95 % precision on answered queries) and cached until
//! the library changes.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::catalogue::heads;
use crate::catalogue::images::{self, Status};
use crate::catalogue::settings;
use crate::catalogue::vectors;
use crate::embed::ModelStamp;
use crate::embed::{Encoder, View};
use crate::index::Index;
use crate::library::Library;
use crate::search::projection::Head;
use crate::Error;

/// Precision the verdict threshold aims for on leave-one-out queries.
const TARGET_PRECISION: f64 = 0.95;
/// Softness of the similarity weighting: neighbours this much less similar weigh e times less.
const VOTE_TEMPERATURE: f32 = 0.02;
/// Labelled images used at most for calibration (a deterministic spread over the library).
const CALIBRATION_SAMPLE: usize = 2000;

/// One neighbouring library image.
#[derive(Debug, Clone, Serialize)]
pub struct Neighbour {
    /// Image id.
    pub id: i64,
    /// Standard name, when labelled.
    pub name: Option<String>,
    /// Manufacturer, when labelled.
    pub manufacturer: Option<String>,
    /// System, when labelled.
    pub system: Option<String>,
    /// Cosine similarity to the query.
    pub similarity: f32,
    /// A copy of the query's film: its standard image agrees pixel for pixel
    /// (the copy check of the search, `neardup::copies_first`, puts these first).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub copy: bool,
}

/// A system the vote points to.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// Manufacturer.
    pub manufacturer: String,
    /// System.
    pub system: String,
    /// Share of the similarity-weighted vote (0..1).
    pub score: f32,
}

/// A confident answer.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Manufacturer.
    pub manufacturer: String,
    /// System.
    pub system: String,
    /// Share of the vote behind it.
    pub confidence: f32,
}

/// The answer for one query image.
#[derive(Debug, Clone, Serialize)]
pub struct Identification {
    /// `None` means "unknown — not confidently in the catalogue".
    pub verdict: Option<Verdict>,
    /// Ranked systems.
    pub candidates: Vec<Candidate>,
    /// The labelled images the vote was taken over.
    pub neighbours: Vec<Neighbour>,
}

/// Thresholds learnt from the library by leave-one-out.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    /// Smallest vote share that gives a verdict.
    pub min_confidence: f32,
    /// Smallest similarity of the nearest labelled image that gives a verdict.
    pub min_similarity: f32,
    /// Leave-one-out precision of verdicts at these thresholds.
    pub precision: f32,
    /// Share of leave-one-out queries that got a verdict.
    pub coverage: f32,
    /// Labelled images the calibration was made on.
    pub samples: usize,
}

/// What a cached calibration was computed on: the weights, how many vectors and labels, and the
/// newest change.
fn fingerprint(stamp: &ModelStamp, vectors: usize, labels: usize, latest: &str) -> String {
    format!("{}|{vectors}|{labels}|{latest}", stamp.weights_sha256)
}

#[derive(Debug, Clone)]
struct Label {
    manufacturer: String,
    system: String,
}

/// A library's labelled vectors of one encoder, ready for similarity queries.
pub struct Searcher {
    /// The vectors.
    pub index: Index,
    stamp: ModelStamp,
    labels: HashMap<i64, Label>,
    names: HashMap<i64, Option<String>>,
    fingerprint: String,
    /// A learned head and the index in its space; votes and similarity search there.
    head: Option<(Head, Index)>,
}

impl Searcher {
    /// [`Searcher::open`] for a search a curator asked for: a library without vectors from
    /// `encoder` is refused with [`Error::NoVectors`] rather than answered with nothing.
    pub fn ready(lib: &Library, encoder: &dyn Encoder) -> Result<Searcher, Error> {
        Searcher::open(lib, encoder)?.non_empty(encoder)
    }

    /// [`Searcher::ready`] on the vectors of `view`: [`View::Context`] for "the same implant"
    /// questions (similar, copies), [`View::Fixture`] (what [`Searcher::ready`] uses) for "which
    /// system" ones. Only the fixture view takes a learned head.
    pub fn ready_view(lib: &Library, encoder: &dyn Encoder, view: View) -> Result<Searcher, Error> {
        match view {
            View::Fixture => Searcher::ready(lib, encoder),
            View::Context => Searcher::open_view(lib, encoder, view)?.non_empty(encoder),
        }
    }

    /// The searcher, or [`Error::NoVectors`] when it has nothing to search.
    fn non_empty(self, encoder: &dyn Encoder) -> Result<Searcher, Error> {
        if self.index.is_empty() {
            return Err(Error::NoVectors {
                encoder: encoder.id().to_string(),
            });
        }
        Ok(self)
    }

    /// [`Searcher::ready`] on the encoder's own vectors (no learned head).
    pub fn ready_frozen(lib: &Library, encoder: &dyn Encoder) -> Result<Searcher, Error> {
        Searcher::open_frozen(lib, encoder)?.non_empty(encoder)
    }

    /// Load the current vectors of `encoder`, the labels of the library and the encoder's active
    /// learned head, if any (votes and similarity then use it).
    pub fn open(lib: &Library, encoder: &dyn Encoder) -> Result<Searcher, Error> {
        let searcher = Searcher::open_frozen(lib, encoder)?;
        Ok(match heads::active(lib.conn(), &searcher.stamp.head_key())? {
            Some(h) if h.in_dim == searcher.stamp.dim => searcher.with_head(Head::from(h)),
            Some(h) => {
                tracing::warn!(
                    "learned head {} expects {}-d vectors, the encoder gives {}: not used",
                    h.id,
                    h.in_dim,
                    searcher.stamp.dim
                );
                searcher
            }
            None => searcher,
        })
    }

    /// Search with `head` (projecting every vector and every query into its space).
    pub fn with_head(mut self, head: Head) -> Searcher {
        let projected = head.project_index(&self.index);
        self.fingerprint = format!("{}|head {}", self.fingerprint, head.id);
        self.head = Some((head, projected));
        self
    }

    /// The learned head in use, if any.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref().map(|h| &h.0)
    }

    /// [`Searcher::open`] without any learned head: the encoder's own vectors (fixture view).
    pub fn open_frozen(lib: &Library, encoder: &dyn Encoder) -> Result<Searcher, Error> {
        Searcher::open_view(lib, encoder, View::Fixture)
    }

    /// The stamp of the vectors searched (which encoder, which view).
    pub fn stamp(&self) -> &ModelStamp {
        &self.stamp
    }

    /// The encoder's own vectors of `view`, no learned head.
    pub fn open_view(lib: &Library, encoder: &dyn Encoder, view: View) -> Result<Searcher, Error> {
        let stamp = view.stamp(encoder);
        let vectors = vectors::load_all(lib.conn(), &stamp)?;
        let index = Index::build(vectors, stamp.dim);
        let mut labels = HashMap::new();
        let mut names = HashMap::new();
        let mut latest = String::new();
        for rec in images::list(lib.conn(), None)? {
            latest = latest.max(rec.updated_at.clone());
            names.insert(rec.id, rec.name.clone());
            if rec.status != Status::Unlabelled {
                if let (Some(manufacturer), Some(system)) = (rec.manufacturer, rec.system) {
                    labels.insert(rec.id, Label { manufacturer, system });
                }
            }
        }
        let fingerprint = fingerprint(&stamp, index.len(), labels.len(), &latest);
        Ok(Searcher {
            index,
            stamp,
            labels,
            names,
            fingerprint,
            head: None,
        })
    }

    /// The `k` most similar library images (any status), excluding `exclude`.
    pub fn similar(&self, query: &[f32], k: usize, exclude: Option<i64>) -> Vec<Neighbour> {
        let (space, query) = self.space(query);
        space
            .search(&query, k, &|id| Some(id) != exclude)
            .into_iter()
            .map(|(id, similarity)| self.neighbour(id, similarity))
            .collect()
    }

    pub(crate) fn neighbour(&self, id: i64, similarity: f32) -> Neighbour {
        let label = self.labels.get(&id);
        Neighbour {
            id,
            name: self.names.get(&id).cloned().flatten(),
            manufacturer: label.map(|l| l.manufacturer.clone()),
            system: label.map(|l| l.system.clone()),
            similarity,
            copy: false,
        }
    }

    /// Where searches run and the query there: the head's space when one is in use.
    fn space(&self, query: &[f32]) -> (&Index, Vec<f32>) {
        match &self.head {
            Some((head, projected)) => (projected, head.project(query)),
            None => (&self.index, query.to_vec()),
        }
    }

    /// Vote among the `k` nearest labelled images (excluding `exclude`, for leave-one-out).
    fn vote(&self, query: &[f32], k: usize, exclude: Option<i64>) -> (Vec<Candidate>, Vec<Neighbour>) {
        let (space, query) = self.space(query);
        let found = space.search(&query, k, &|id| {
            Some(id) != exclude && self.labels.contains_key(&id)
        });
        let best = found.first().map_or(0.0, |f| f.1);
        let mut tally: BTreeMap<(String, String), f32> = BTreeMap::new();
        let mut total = 0.0;
        for (id, sim) in &found {
            let label = &self.labels[id];
            let w = ((sim - best) / VOTE_TEMPERATURE).exp();
            *tally
                .entry((label.manufacturer.clone(), label.system.clone()))
                .or_default() += w;
            total += w;
        }
        let mut candidates: Vec<Candidate> = tally
            .into_iter()
            .map(|((manufacturer, system), w)| Candidate {
                manufacturer,
                system,
                score: w / total,
            })
            .collect();
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        let neighbours = found.into_iter().map(|(id, s)| self.neighbour(id, s)).collect();
        (candidates, neighbours)
    }

    /// The leave-one-out vote for a library implant (its own vector, itself excluded): what its
    /// neighbours say it is. `None` when it has no vector of this encoder.
    pub fn vote_for(&self, id: i64, k: usize) -> Option<(Vec<Candidate>, Vec<Neighbour>)> {
        let query = self.index.vector(id)?.to_vec();
        Some(self.vote(&query, k, Some(id)))
    }

    /// The label (manufacturer, system) the vote counts for `id`, if it is labelled.
    pub fn label_of(&self, id: i64) -> Option<(&str, &str)> {
        self.labels
            .get(&id)
            .map(|l| (l.manufacturer.as_str(), l.system.as_str()))
    }

    /// Labelled implants that have a vector, by id.
    pub fn labelled_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .labels
            .keys()
            .copied()
            .filter(|id| self.index.vector(*id).is_some())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The library's systems, as (manufacturer, system), sorted, each once.
    pub fn systems(&self) -> Vec<(String, String)> {
        let mut systems: Vec<(String, String)> = self
            .labels
            .values()
            .map(|l| (l.manufacturer.clone(), l.system.clone()))
            .collect();
        systems.sort();
        systems.dedup();
        systems
    }

    /// Follow label changes made through this process (the records as written), so a window
    /// labelling one implant after another keeps its searcher instead of reloading every vector.
    pub fn relabelled(&mut self, records: &[images::ImageRecord]) {
        for rec in records {
            self.names.insert(rec.id, rec.name.clone());
            match (&rec.manufacturer, &rec.system, rec.status) {
                (Some(m), Some(s), Status::Labelled | Status::Confirmed) => {
                    self.set_label_in_memory(rec.id, m, s)
                }
                _ => {
                    self.labels.remove(&rec.id);
                }
            }
        }
        // Cached calibrations are keyed by the fingerprint: a changed label set is a new one.
        let latest = records.iter().map(|r| r.updated_at.as_str()).max().unwrap_or("");
        self.fingerprint = fingerprint(&self.stamp, self.index.len(), self.labels.len(), latest);
        if let Some((head, _)) = &self.head {
            self.fingerprint = format!("{}|head {}", self.fingerprint, head.id);
        }
    }

    /// Stop counting `id`'s label in votes (in memory only); returns it so it can be put back.
    ///
    /// Why: held-out evaluations hide the labels of the implants they identify.
    pub fn forget_label_in_memory(&mut self, id: i64) -> Option<(String, String)> {
        self.labels.remove(&id).map(|l| (l.manufacturer, l.system))
    }

    /// Replace the label the vote counts for `id` (in memory only: the library is not touched).
    ///
    /// Why: evaluations plant known mistakes (flipped labels) and check that the review finds them.
    pub fn set_label_in_memory(&mut self, id: i64, manufacturer: &str, system: &str) {
        self.labels.insert(
            id,
            Label {
                manufacturer: manufacturer.to_string(),
                system: system.to_string(),
            },
        );
    }

    /// Identify a query vector with calibrated thresholds (`None`: the library cannot calibrate yet).
    pub fn identify(&self, query: &[f32], k: usize, calibration: Option<&Calibration>) -> Identification {
        let (candidates, neighbours) = self.vote(query, k, None);
        let verdict = match (calibration, candidates.first(), neighbours.first()) {
            (Some(c), Some(top), Some(nearest))
                if top.score >= c.min_confidence && nearest.similarity >= c.min_similarity =>
            {
                Some(Verdict {
                    manufacturer: top.manufacturer.clone(),
                    system: top.system.clone(),
                    confidence: top.score,
                })
            }
            _ => None,
        };
        Identification {
            verdict,
            candidates,
            neighbours,
        }
    }

    /// Leave-one-out outcomes for labelled images: (true label, candidates, nearest similarity).
    fn leave_one_out(&self, k: usize, limit: usize) -> Vec<(Label, Vec<Candidate>, f32, Vec<Neighbour>)> {
        let ids = self.labelled_ids();
        let step = (ids.len() / limit.max(1)).max(1);
        ids.iter()
            .step_by(step)
            .map(|&id| {
                let q = self.index.vector(id).expect("filtered above").to_vec();
                let (candidates, neighbours) = self.vote(&q, k, Some(id));
                let nearest = neighbours.first().map_or(-1.0, |n| n.similarity);
                (self.labels[&id].clone(), candidates, nearest, neighbours)
            })
            .collect()
    }

    /// The library's thresholds, from the cache when the library has not changed since.
    pub fn calibration(&self, lib: &Library, k: usize) -> Result<Option<Calibration>, Error> {
        let key = format!("calibration:{}:{k}", self.stamp.encoder_id);
        if let Some(cached) = settings::get(lib.conn(), &key)? {
            if let Ok((fp, c)) = serde_json::from_str::<(String, Option<Calibration>)>(&cached) {
                if fp == self.fingerprint {
                    return Ok(c);
                }
            }
        }
        let c = self.calibrate(k);
        settings::set(lib.conn(), &key, &serde_json::to_string(&(&self.fingerprint, c))?)?;
        Ok(c)
    }

    /// Choose thresholds by leave-one-out; `None` with fewer than 10 labelled images or one system.
    pub fn calibrate(&self, k: usize) -> Option<Calibration> {
        let runs = self.leave_one_out(k, CALIBRATION_SAMPLE);
        let systems: std::collections::HashSet<_> =
            runs.iter().map(|r| (&r.0.manufacturer, &r.0.system)).collect();
        if runs.len() < 10 || systems.len() < 2 {
            return None;
        }
        // Nearest-neighbour similarity: 2nd percentile over correctly answered queries, so genuine
        // in-catalogue images pass while far-away (out-of-catalogue) images do not.
        let correct = |r: &(Label, Vec<Candidate>, f32, Vec<Neighbour>)| {
            r.1.first()
                .is_some_and(|c| c.manufacturer == r.0.manufacturer && c.system == r.0.system)
        };
        let mut sims: Vec<f32> = runs.iter().filter(|r| correct(r)).map(|r| r.2).collect();
        sims.sort_by(f32::total_cmp);
        let min_similarity = sims.get(sims.len() / 50).copied().unwrap_or(1.0);
        // Vote share: the lowest threshold (at least a majority) whose answered queries reach the
        // target precision; if none does, the most precise one.
        let mut scored: Vec<(f32, bool)> = runs
            .iter()
            .filter(|r| r.2 >= min_similarity)
            .map(|r| (r.1.first().map_or(0.0, |c| c.score), correct(r)))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut best: Option<(f32, f64, usize)> = None;
        let mut right = 0usize;
        for (i, (score, ok)) in scored.iter().enumerate() {
            right += usize::from(*ok);
            let answered = i + 1;
            let precision = right as f64 / answered as f64;
            let last_of_tie = scored.get(i + 1).is_none_or(|n| n.0 < *score);
            if !last_of_tie || *score < 0.5 {
                continue;
            }
            let better = match best {
                None => true,
                Some((_, p, _)) => precision >= TARGET_PRECISION || precision > p,
            };
            if better && (precision >= TARGET_PRECISION || best.is_none_or(|b| b.1 < TARGET_PRECISION)) {
                best = Some((*score, precision, answered));
            }
        }
        let (min_confidence, precision, answered) = best.unwrap_or((1.01, 0.0, 0));
        Some(Calibration {
            min_confidence,
            min_similarity,
            precision: precision as f32,
            coverage: answered as f32 / runs.len() as f32,
            samples: runs.len(),
        })
    }

    /// Leave-one-out evaluation over every labelled image.
    pub fn evaluate(&self, k: usize, calibration: Option<&Calibration>) -> EvalReport {
        let runs = self.leave_one_out(k, usize::MAX);
        let mut report = EvalReport {
            images: runs.len(),
            k,
            calibration: calibration.copied(),
            ..EvalReport::default()
        };
        let mut per_system: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let (mut top1, mut top5, mut m1, mut m5, mut prec, mut unknown, mut answered_right) =
            (0, 0, 0, 0, 0.0, 0, 0);
        for (truth, candidates, nearest, neighbours) in &runs {
            let name = format!("{} / {}", truth.manufacturer, truth.system);
            let hit = |c: &Candidate| c.manufacturer == truth.manufacturer && c.system == truth.system;
            let rank = candidates.iter().position(hit);
            top1 += usize::from(rank == Some(0));
            top5 += usize::from(rank.is_some_and(|r| r < 5));
            let mut makers: Vec<(&str, f32)> = Vec::new();
            for c in candidates {
                match makers.iter_mut().find(|m| m.0 == c.manufacturer) {
                    Some(m) => m.1 += c.score,
                    None => makers.push((&c.manufacturer, c.score)),
                }
            }
            makers.sort_by(|a, b| b.1.total_cmp(&a.1));
            let mrank = makers.iter().position(|m| m.0 == truth.manufacturer);
            m1 += usize::from(mrank == Some(0));
            m5 += usize::from(mrank.is_some_and(|r| r < 5));
            let same = neighbours
                .iter()
                .filter(|n| {
                    n.manufacturer.as_deref() == Some(&truth.manufacturer)
                        && n.system.as_deref() == Some(&truth.system)
                })
                .count();
            prec += same as f64 / k.max(1) as f64;
            let predicted = candidates.first().map_or("(none)".to_string(), |c| {
                format!("{} / {}", c.manufacturer, c.system)
            });
            *report
                .confusion
                .entry(name.clone())
                .or_default()
                .entry(predicted)
                .or_default() += 1;
            let e = per_system.entry(name).or_default();
            e.0 += 1;
            e.1 += usize::from(rank == Some(0));
            let says = calibration.is_some_and(|c| {
                candidates.first().is_some_and(|t| t.score >= c.min_confidence)
                    && *nearest >= c.min_similarity
            });
            if says {
                answered_right += usize::from(rank == Some(0));
            } else {
                unknown += 1;
            }
        }
        let n = runs.len().max(1) as f64;
        report.system_top1 = top1 as f64 / n;
        report.system_top5 = top5 as f64 / n;
        report.manufacturer_top1 = m1 as f64 / n;
        report.manufacturer_top5 = m5 as f64 / n;
        report.precision_at_k = prec / n;
        report.unknown_rate = unknown as f64 / n;
        let answered = runs.len() - unknown;
        report.verdict_precision = if answered > 0 {
            answered_right as f64 / answered as f64
        } else {
            0.0
        };
        report.per_system_recall = per_system
            .into_iter()
            .map(|(k, (n, ok))| (k, ok as f64 / n as f64))
            .collect();
        report
    }
}

/// Leave-one-out quality of a library.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    /// Labelled images evaluated.
    pub images: usize,
    /// Neighbours per vote.
    pub k: usize,
    /// Top-1 accuracy of the system.
    pub system_top1: f64,
    /// Top-5 accuracy of the system.
    pub system_top5: f64,
    /// Top-1 accuracy of the manufacturer.
    pub manufacturer_top1: f64,
    /// Top-5 accuracy of the manufacturer.
    pub manufacturer_top5: f64,
    /// Mean share of the k neighbours with the true system.
    pub precision_at_k: f64,
    /// Share of queries answered "unknown" at the calibrated thresholds.
    pub unknown_rate: f64,
    /// Precision of the verdicts given.
    pub verdict_precision: f64,
    /// Top-1 recall per system.
    pub per_system_recall: BTreeMap<String, f64>,
    /// true system → predicted top-1 system → count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// Thresholds used.
    pub calibration: Option<Calibration>,
}
