//! The window's state in one place: rows of the library, filters, the filtered view, selection.
//!
//! Why plain data: panels are functions of this state and the tests drive it directly. Nothing here
//! does I/O; rows arrive from a worker and the filtered view is recomputed only when rows or
//! filters change, so a 100 000-image library costs nothing per frame.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalogue::images::{ImageRecord, Status};
use crate::catalogue::naming::standard_name;
use crate::catalogue::systems::{Catalogue, System};

/// Where an image stands with production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// No local change waiting.
    Synced,
    /// A local change is queued for the next sync.
    Pending,
    /// Changed here and in production since the last sync.
    Conflict,
}

/// What the grid needs of one image (a full record is loaded only for the inspector).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Image id.
    pub id: i64,
    /// Standard name, when labelled.
    pub name: Option<String>,
    /// Canonical manufacturer.
    pub manufacturer: Option<String>,
    /// Canonical system.
    pub system: Option<String>,
    /// Catalogue system id.
    pub system_id: Option<i64>,
    /// Curation status.
    pub status: Status,
    /// The standard image (thumbnail source).
    pub standard_sha256: String,
    /// Lower-case text matched by the free-text filter.
    pub haystack: String,
    /// Where it stands with production.
    pub sync: SyncState,
}

impl From<&ImageRecord> for Row {
    fn from(r: &ImageRecord) -> Row {
        let haystack = format!(
            "#{} {} {} {} {} {}",
            r.id,
            r.name.as_deref().unwrap_or(""),
            r.manufacturer.as_deref().unwrap_or(""),
            r.system.as_deref().unwrap_or(""),
            r.attributes.notes.as_deref().unwrap_or(""),
            r.source_name.as_deref().unwrap_or("")
        )
        .to_lowercase();
        Row {
            id: r.id,
            name: r.name.clone(),
            manufacturer: r.manufacturer.clone(),
            system: r.system.clone(),
            system_id: r.system_id,
            status: r.status,
            standard_sha256: r.standard_sha256.clone(),
            haystack,
            // Every local change is queued for sync; the worker's listing says what is not.
            sync: SyncState::Pending,
        }
    }
}

impl Row {
    /// The caption under a thumbnail.
    pub fn caption(&self) -> String {
        match &self.name {
            Some(n) => format!("#{} {n}", self.id),
            None => format!("#{} unlabelled", self.id),
        }
    }

    /// Sequence number of the standard name (`..._0007.png` -> 7).
    fn name_seq(&self) -> Option<u32> {
        let stem = self.name.as_deref()?.strip_suffix(".png")?;
        stem.rsplit('_').next()?.parse().ok()
    }
}

/// Grid order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Sort {
    /// Import order.
    Oldest,
    /// Newest first.
    Newest,
    /// By standard name (unlabelled last).
    Name,
    /// By manufacturer and system.
    System,
    /// Unlabelled first, then labelled, then confirmed.
    Status,
    /// Unlabelled implants that teach the library most first (uncertain, novel), then the rest.
    LabelNext,
}

impl Sort {
    /// Every order, for the combo box.
    pub const ALL: [Sort; 6] = [
        Sort::Oldest,
        Sort::Newest,
        Sort::Name,
        Sort::System,
        Sort::Status,
        Sort::LabelNext,
    ];

    /// Shown in the combo box.
    pub fn label(self) -> &'static str {
        match self {
            Sort::Oldest => "Oldest first",
            Sort::Newest => "Newest first",
            Sort::Name => "Name",
            Sort::System => "Manufacturer / system",
            Sort::Status => "Status",
            Sort::LabelNext => "Label next",
        }
    }
}

/// What the grid shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Only this manufacturer.
    pub manufacturer: Option<String>,
    /// Only this system (of the manufacturer).
    pub system: Option<String>,
    /// Only this status.
    pub status: Option<Status>,
    /// Only this sync state.
    pub sync: Option<SyncState>,
    /// Free text (id, name, label, notes, source file name).
    pub text: String,
    /// Order.
    pub sort: Sort,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            manufacturer: None,
            system: None,
            status: None,
            sync: None,
            text: String::new(),
            sort: Sort::Oldest,
        }
    }
}

impl Filter {
    fn keeps(&self, row: &Row, words: &[String]) -> bool {
        self.status.is_none_or(|s| s == row.status)
            && self.sync.is_none_or(|s| s == row.sync)
            && self
                .manufacturer
                .as_ref()
                .is_none_or(|m| row.manufacturer.as_ref() == Some(m))
            && self
                .system
                .as_ref()
                .is_none_or(|s| row.system.as_ref() == Some(s))
            && words.iter().all(|w| row.haystack.contains(w.as_str()))
    }
}

/// Counts per group for the side panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// All images.
    pub total: usize,
    /// Per status.
    pub by_status: BTreeMap<&'static str, usize>,
    /// Per manufacturer, then per system.
    pub by_system: BTreeMap<String, BTreeMap<String, usize>>,
    /// Images with a local change not yet in production.
    pub pending: usize,
    /// Images in conflict with production.
    pub conflicts: usize,
}

/// The library as the window sees it.
#[derive(Default)]
pub struct Browser {
    rows: Vec<Row>,
    /// Indices into `rows` that pass the filter, in display order.
    view: Vec<usize>,
    /// Position of each id in `rows`.
    by_id: std::collections::HashMap<i64, usize>,
    shown_filter: Option<Filter>,
    /// The filter being edited.
    pub filter: Filter,
    /// Selected image ids.
    pub selected: BTreeSet<i64>,
    /// The image the keyboard acts on (last clicked).
    pub current: Option<i64>,
    /// Anchor of a shift-click range.
    anchor: Option<i64>,
    /// Per-group counts.
    pub counts: Counts,
    /// The catalogue snapshot.
    pub catalogue: Option<Catalogue>,
    /// Rank of each unlabelled implant in the label-next order (from the worker).
    next_order: std::collections::HashMap<i64, usize>,
    /// Whether `next_order` answers for the rows shown (it is asked again after a change).
    pub next_order_fresh: bool,
}

impl Browser {
    /// Replace every row (a fresh listing from the worker), with the ids queued for sync and those
    /// in conflict.
    pub fn set_rows(&mut self, mut rows: Vec<Row>, pending: &[i64], conflicts: &[i64]) {
        let pending: std::collections::HashSet<i64> = pending.iter().copied().collect();
        let conflicts: std::collections::HashSet<i64> = conflicts.iter().copied().collect();
        for r in &mut rows {
            r.sync = if conflicts.contains(&r.id) {
                SyncState::Conflict
            } else if pending.contains(&r.id) {
                SyncState::Pending
            } else {
                SyncState::Synced
            };
        }
        self.rows = rows;
        // A fresh listing (an import, a sync) may change what is worth labelling; single label
        // changes do not reorder the grid under the curator's keys.
        self.next_order_fresh = false;
        self.reindex();
    }

    /// Update the rows of changed records in place.
    pub fn update_records(&mut self, records: &[ImageRecord]) {
        for r in records {
            match self.by_id.get(&r.id) {
                Some(&i) => self.rows[i] = Row::from(r),
                None => self.rows.push(Row::from(r)),
            }
        }
        self.reindex();
    }

    /// The label-next order arrived: unlabelled ids, the ones to label first first.
    pub fn set_next_order(&mut self, order: Vec<i64>) {
        self.next_order = order.into_iter().enumerate().map(|(n, id)| (id, n)).collect();
        self.next_order_fresh = true;
        self.shown_filter = None;
    }

    fn reindex(&mut self) {
        self.by_id = self.rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        let ids = &self.by_id;
        self.selected.retain(|id| ids.contains_key(id));
        self.counts = count(&self.rows);
        self.shown_filter = None;
    }

    /// All rows, in id order.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// A row by id.
    pub fn row(&self, id: i64) -> Option<&Row> {
        self.by_id.get(&id).map(|&i| &self.rows[i])
    }

    /// Recompute the filtered view when the filter or the rows changed since the last call.
    pub fn refresh(&mut self) {
        if self.shown_filter.as_ref() == Some(&self.filter) {
            return;
        }
        let words: Vec<String> = self
            .filter
            .text
            .to_lowercase()
            .split_whitespace()
            .map(String::from)
            .collect();
        let mut view: Vec<usize> = (0..self.rows.len())
            .filter(|&i| self.filter.keeps(&self.rows[i], &words))
            .collect();
        let rows = &self.rows;
        match self.filter.sort {
            Sort::Oldest => {}
            Sort::Newest => view.reverse(),
            Sort::Name => view.sort_by_key(|&i| (rows[i].name.is_none(), rows[i].name.clone())),
            Sort::System => view.sort_by(|&a, &b| {
                let key = |r: &Row| (r.manufacturer.is_none(), r.manufacturer.clone(), r.system.clone());
                key(&rows[a]).cmp(&key(&rows[b]))
            }),
            Sort::Status => view.sort_by_key(|&i| status_rank(rows[i].status)),
            Sort::LabelNext => {
                let order = &self.next_order;
                view.sort_by_key(|&i| {
                    let r = &rows[i];
                    let rank = order.get(&r.id).copied().unwrap_or(usize::MAX);
                    (status_rank(r.status), rank)
                })
            }
        }
        self.view = view;
        self.shown_filter = Some(self.filter.clone());
    }

    /// How many images pass the filter.
    pub fn len(&self) -> usize {
        self.view.len()
    }

    /// Whether no image passes the filter.
    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    /// The `n`-th image of the filtered view.
    pub fn at(&self, n: usize) -> Option<&Row> {
        self.view.get(n).map(|&i| &self.rows[i])
    }

    /// Position of an image in the filtered view.
    pub fn position(&self, id: i64) -> Option<usize> {
        let i = *self.by_id.get(&id)?;
        self.view.iter().position(|&v| v == i)
    }

    /// Click on an image: plain replaces the selection, `toggle` (Ctrl) adds/removes, `range`
    /// (Shift) selects from the anchor to here.
    pub fn click(&mut self, id: i64, toggle: bool, range: bool) {
        match (
            range,
            self.anchor.and_then(|a| self.position(a)),
            self.position(id),
        ) {
            (true, Some(a), Some(b)) => {
                let (lo, hi) = (a.min(b), a.max(b));
                let ids: Vec<i64> = (lo..=hi).filter_map(|n| self.at(n)).map(|r| r.id).collect();
                self.selected.extend(ids);
            }
            _ if toggle => {
                if !self.selected.remove(&id) {
                    self.selected.insert(id);
                }
                self.anchor = Some(id);
            }
            _ => {
                self.selected = BTreeSet::from([id]);
                self.anchor = Some(id);
            }
        }
        self.current = Some(id);
    }

    /// Move the current image by `delta` in the filtered view (selecting it alone); returns it.
    pub fn step(&mut self, delta: isize) -> Option<i64> {
        if self.view.is_empty() {
            return None;
        }
        let here = self.current.and_then(|c| self.position(c));
        let next = match here {
            Some(p) => (p as isize + delta).clamp(0, self.view.len() as isize - 1) as usize,
            None => 0,
        };
        let id = self.at(next)?.id;
        self.click(id, false, false);
        Some(id)
    }

    /// The ids a label applies to: the selection, else the current image.
    pub fn targets(&self) -> Vec<i64> {
        if self.selected.is_empty() {
            self.current.into_iter().collect()
        } else {
            self.selected.iter().copied().collect()
        }
    }

    /// The standard name `id` would get with system `system` and no size: its own number when the
    /// system stays, else one past the highest number in use.
    pub fn name_preview(&self, id: i64, system: &System) -> Option<String> {
        let catalogue = self.catalogue.as_ref()?;
        let m = catalogue.manufacturer(system.manufacturer_id)?;
        let row = self.row(id)?;
        let seq = match row.name_seq() {
            Some(seq) if row.system_id == Some(system.id) => seq,
            _ => {
                self.rows
                    .iter()
                    .filter(|r| r.system_id == Some(system.id))
                    .filter_map(Row::name_seq)
                    .max()
                    .unwrap_or(0)
                    + 1
            }
        };
        Some(standard_name(&m.slug, &system.slug, None, None, seq))
    }
}

fn status_rank(s: Status) -> u8 {
    match s {
        Status::Unlabelled => 0,
        Status::Labelled => 1,
        Status::Confirmed => 2,
    }
}

/// Display name of a status.
pub fn status_name(s: Status) -> &'static str {
    match s {
        Status::Unlabelled => "unlabelled",
        Status::Labelled => "labelled",
        Status::Confirmed => "confirmed",
    }
}

fn count(rows: &[Row]) -> Counts {
    let mut c = Counts {
        total: rows.len(),
        ..Counts::default()
    };
    for r in rows {
        *c.by_status.entry(status_name(r.status)).or_default() += 1;
        c.pending += usize::from(r.sync == SyncState::Pending);
        c.conflicts += usize::from(r.sync == SyncState::Conflict);
        if let (Some(m), Some(s)) = (&r.manufacturer, &r.system) {
            *c.by_system
                .entry(m.clone())
                .or_default()
                .entry(s.clone())
                .or_default() += 1;
        }
    }
    c
}
