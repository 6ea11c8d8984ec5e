//! Resolving import labels against the catalogue, with suggestions for names it does not know.
//!
//! Why: a labels file written by hand says `T3Parallel` where the catalogue says `T3`. Refusing the
//! image would lose it; labelling it with a guess would poison the library. So the image comes in
//! unlabelled, the curator is told the closest catalogue entries, and the run ends with a count of
//! each unknown name; `--add-unknown` instead adds the names to the catalogue in one go.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::catalogue::naming::key;
use crate::catalogue::systems::{self, Catalogue, Manufacturer, System};
use crate::ingest::labels::RawLabel;
use crate::library::Library;
use crate::Error;

/// A resolved label: ids for the database and names for the report.
#[derive(Debug, Clone)]
pub struct Label {
    /// Manufacturer id.
    pub manufacturer_id: i64,
    /// System id.
    pub system_id: i64,
    /// Canonical manufacturer name.
    pub manufacturer: String,
    /// Canonical system name.
    pub system: String,
}

/// Why a label could not be used, said so that the curator can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// `unknown system "T3Parallel" of Zimmer Biomet (did you mean Zimmer Biomet T3?)`.
    pub message: String,
    /// The closest catalogue entries.
    pub suggestions: Vec<String>,
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// One unknown label of an import, for the end-of-run summary.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownLabel {
    /// The label as written: `Manufacturer / System` or `System`.
    pub label: String,
    /// What was wrong with it.
    pub reason: String,
    /// Images imported unlabelled because of it.
    pub images: usize,
    /// The closest catalogue entries.
    pub suggestions: Vec<String>,
}

/// Resolves raw labels for one import, remembering each answer.
pub struct Resolver {
    catalogue: Catalogue,
    add_unknown: bool,
    cache: HashMap<RawLabel, Result<Label, Unresolved>>,
    /// Unknown labels in the order first met, with the images they left unlabelled.
    unknown: Vec<(RawLabel, Unresolved, usize)>,
    /// What `add_unknown` added: `Manufacturer / System`.
    pub added: Vec<String>,
}

impl Resolver {
    /// A resolver over a catalogue snapshot; with `add_unknown`, unknown names are added to it.
    pub fn new(catalogue: Catalogue, add_unknown: bool) -> Self {
        Resolver {
            catalogue,
            add_unknown,
            cache: HashMap::new(),
            unknown: Vec::new(),
            added: Vec::new(),
        }
    }

    /// The catalogue entry for `raw`, or why there is none (`Err` is only a database failure).
    pub fn resolve(&mut self, lib: &mut Library, raw: &RawLabel) -> Result<Result<Label, Unresolved>, Error> {
        if let Some(done) = self.cache.get(raw) {
            return Ok(done.clone());
        }
        let mut answer = self.lookup(raw);
        if let Err(unresolved) = answer.clone() {
            if self.add_unknown && !unresolved.message.starts_with("ambiguous") {
                if let Some(label) = self.add(lib, raw)? {
                    answer = Ok(label);
                }
            }
        }
        if let Err(u) = &answer {
            self.unknown.push((raw.clone(), u.clone(), 0));
        }
        self.cache.insert(raw.clone(), answer.clone());
        Ok(answer)
    }

    /// Count one image imported unlabelled because of `raw`.
    pub fn count_unlabelled(&mut self, raw: &RawLabel) {
        if let Some(entry) = self.unknown.iter_mut().find(|(r, _, _)| r == raw) {
            entry.2 += 1;
        }
    }

    /// The unknown labels that left images unlabelled, most images first.
    pub fn unknown_summary(&self) -> Vec<UnknownLabel> {
        let mut out: Vec<UnknownLabel> = self
            .unknown
            .iter()
            .filter(|(_, _, n)| *n > 0)
            .map(|(raw, u, n)| UnknownLabel {
                label: written(raw),
                reason: u.message.clone(),
                images: *n,
                suggestions: u.suggestions.clone(),
            })
            .collect();
        out.sort_by_key(|u| std::cmp::Reverse(u.images));
        out
    }

    fn lookup(&self, raw: &RawLabel) -> Result<Label, Unresolved> {
        let cat = &self.catalogue;
        match cat.resolve_system(raw.manufacturer.as_deref(), &raw.system) {
            Ok((m, s)) => Ok(label_of(m, s)),
            Err(err) => Err(self.explain(raw, &err.to_string())),
        }
    }

    /// Say what is unknown (the manufacturer, or the system) and what is closest.
    fn explain(&self, raw: &RawLabel, error: &str) -> Unresolved {
        let cat = &self.catalogue;
        if error.starts_with("ambiguous") {
            return Unresolved {
                message: error.to_string(),
                suggestions: Vec::new(),
            };
        }
        let manufacturer = match raw.manufacturer.as_deref().filter(|m| !m.trim().is_empty()) {
            None => None,
            Some(m) => match cat.resolve_manufacturer(m) {
                Ok(found) => Some(found),
                Err(_) => {
                    let suggestions = closest(
                        cat.manufacturers
                            .iter()
                            .map(|m| (m.name.clone(), names(&m.name, &m.aliases))),
                        &key(m),
                    );
                    return Unresolved {
                        message: format!("unknown manufacturer \"{m}\"{}", did_you_mean(&suggestions)),
                        suggestions,
                    };
                }
            },
        };
        let q = key(&raw.system);
        let candidates = |within: Option<&Manufacturer>| -> Vec<(String, Vec<String>)> {
            cat.systems
                .iter()
                .filter(move |s| within.is_none_or(|m| m.id == s.manufacturer_id))
                .map(move |s| {
                    let mut n = names(&s.name, &s.aliases);
                    if let Some(m) = cat.manufacturer(s.manufacturer_id) {
                        n.extend(
                            names(&m.name, &m.aliases)
                                .iter()
                                .map(|mn| format!("{mn}{}", key(&s.name))),
                        );
                    }
                    (cat.label(s), n)
                })
                .collect()
        };
        // The manufacturer's own systems first; a system filed under another maker comes next.
        let mut suggestions = closest(candidates(manufacturer).into_iter(), &q);
        if suggestions.is_empty() && manufacturer.is_some() {
            suggestions = closest(candidates(None).into_iter(), &q);
        }
        let within = manufacturer
            .map(|m| format!(" of {}", m.name))
            .unwrap_or_default();
        Unresolved {
            message: format!(
                "unknown system \"{}\"{within}{}",
                raw.system,
                did_you_mean(&suggestions)
            ),
            suggestions,
        }
    }

    /// Add the label's unknown manufacturer and system to the catalogue; `None` when it cannot be
    /// added safely (no manufacturer given, or a name that is ambiguous rather than unknown).
    fn add(&mut self, lib: &mut Library, raw: &RawLabel) -> Result<Option<Label>, Error> {
        let Some(m_text) = raw.manufacturer.as_deref().filter(|m| !m.trim().is_empty()) else {
            return Ok(None);
        };
        let (mid, sid) = match systems::find_or_add(lib.conn_mut(), m_text, &raw.system, &[]) {
            Ok(ids) => ids,
            Err(e) if e.to_string().starts_with("ambiguous") => return Ok(None),
            Err(e) => return Err(e),
        };
        self.catalogue = Catalogue::load(lib.conn())?;
        let (Some(m), Some(s)) = (self.catalogue.manufacturer(mid), self.catalogue.system(sid)) else {
            return Ok(None);
        };
        self.added.push(format!("{} / {}", m.name, s.name));
        Ok(Some(label_of(m, s)))
    }
}

fn label_of(m: &Manufacturer, s: &System) -> Label {
    Label {
        manufacturer_id: m.id,
        system_id: s.id,
        manufacturer: m.name.clone(),
        system: s.name.clone(),
    }
}

/// The label as the curator wrote it.
fn written(raw: &RawLabel) -> String {
    match raw.manufacturer.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(m) => format!("{m} / {}", raw.system),
        None => raw.system.clone(),
    }
}

fn names(name: &str, aliases: &[String]) -> Vec<String> {
    std::iter::once(name)
        .chain(aliases.iter().map(String::as_str))
        .map(key)
        .filter(|k| !k.is_empty())
        .collect()
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean {one}?)"),
        [init @ .., last] => format!(" (did you mean {} or {last}?)", init.join(", ")),
    }
}

/// The (at most three) entries whose names are closest to the key `q`, best first.
fn closest(entries: impl Iterator<Item = (String, Vec<String>)>, q: &str) -> Vec<String> {
    let mut scored: Vec<(f64, String)> = entries
        .filter_map(|(display, keys)| {
            let best = keys.iter().map(|k| similarity(q, k)).fold(0.0, f64::max);
            (best >= 0.5).then_some((best, display))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, d)| d).collect()
}

/// How alike two matching keys are, 0 to 1: one starting with or containing the other (`t3parallel`
/// and `t3`) counts as close; otherwise the normalised edit distance decides (`nobleactive`).
fn similarity(q: &str, k: &str) -> f64 {
    if q.is_empty() || k.is_empty() {
        return 0.0;
    }
    if q == k {
        return 1.0;
    }
    let shorter = q.len().min(k.len());
    if shorter >= 2 && (q.starts_with(k) || k.starts_with(q)) {
        return 0.9;
    }
    if shorter >= 3 && (q.contains(k) || k.contains(q)) {
        return 0.8;
    }
    let d = levenshtein(q, k) as f64;
    1.0 - d / q.chars().count().max(k.chars().count()) as f64
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_score_high_and_strangers_low() {
        assert!(similarity("t3parallel", "t3") >= 0.9);
        assert!(similarity("nobleactive", "nobelactive") > 0.8);
        assert!(similarity("t3parallel", "tsv") < 0.5);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions_read_naturally() {
        assert_eq!(did_you_mean(&[]), "");
        assert_eq!(did_you_mean(&["A".into()]), " (did you mean A?)");
        assert_eq!(
            did_you_mean(&["A".into(), "B".into(), "C".into()]),
            " (did you mean A, B or C?)"
        );
    }
}
