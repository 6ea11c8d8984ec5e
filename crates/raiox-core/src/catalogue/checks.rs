//! Review entries a curator has checked ("keep"): they do not come back to the review queue until
//! what was checked changes.
//!
//! Why keyed by what was seen: a checked likely mislabel is checked for the label it had then; if
//! the label changes, the new label deserves its own look. A checked duplicate group is checked for
//! its exact members; a new copy makes a new group.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use crate::Error;

/// Which review list an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The neighbours say another system.
    Mislabel,
    /// A copy of another implant.
    Duplicate,
    /// Far from the rest of its system.
    Outlier,
}

impl Kind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mislabel => "mislabel",
            Kind::Duplicate => "duplicate",
            Kind::Outlier => "outlier",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        [Kind::Mislabel, Kind::Duplicate, Kind::Outlier]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// What a label looks like in a check: manufacturer and system.
pub fn label_key(manufacturer: &str, system: &str) -> String {
    format!("{manufacturer}\u{1f}{system}")
}

/// Record that the curator checked `id` in list `kind` as it was (`seen`: the label, or the
/// group's signature); a later check replaces an earlier one.
pub fn mark(conn: &Connection, id: i64, kind: Kind, seen: &str) -> Result<(), Error> {
    conn.execute(
        "INSERT OR REPLACE INTO review_checks (image_id, kind, seen) VALUES (?1, ?2, ?3)",
        params![id, kind.as_str(), seen],
    )?;
    Ok(())
}

/// Every check: (implant, list) → what was seen when it was checked.
pub fn all(conn: &Connection) -> Result<HashMap<(i64, Kind), String>, Error> {
    let mut stmt = conn.prepare("SELECT image_id, kind, seen FROM review_checks")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut checks = HashMap::new();
    for row in rows {
        let (id, kind, seen) = row?;
        if let Some(kind) = Kind::parse(&kind) {
            checks.insert((id, kind), seen);
        }
    }
    Ok(checks)
}
