//! Manufacturers and systems: forgiving lookup and curator additions.
//!
//! Why: curators type "nobel", "NOBEL BIOCARE", "Straumann BLT" or "BoneLevelTapered"; all must land
//! on the one canonical entry, and an ambiguous or unknown name must say what it could have meant.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::catalogue::naming::{key, slug};
use crate::Error;

/// A manufacturer as stored in the library.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Manufacturer {
    /// Database id.
    pub id: i64,
    /// Canonical name.
    pub name: String,
    /// ASCII slug used in standard names.
    pub slug: String,
    /// Other accepted names.
    pub aliases: Vec<String>,
    /// Shipped with raiox (true) or added by a curator.
    pub builtin: bool,
}

/// An implant system of one manufacturer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct System {
    /// Database id.
    pub id: i64,
    /// Owning manufacturer's id.
    pub manufacturer_id: i64,
    /// Canonical name.
    pub name: String,
    /// ASCII slug used in standard names.
    pub slug: String,
    /// Other accepted names.
    pub aliases: Vec<String>,
    /// Shipped with raiox (true) or added by a curator.
    pub builtin: bool,
}

/// An in-memory snapshot of the manufacturers and systems, for fast repeated lookups (a batch import
/// resolves thousands of labels against one snapshot).
#[derive(Debug, Clone, Serialize)]
pub struct Catalogue {
    /// All manufacturers, by name.
    pub manufacturers: Vec<Manufacturer>,
    /// All systems, by manufacturer then name.
    pub systems: Vec<System>,
}

impl Catalogue {
    /// Read the whole catalogue from the library database.
    pub fn load(conn: &Connection) -> Result<Self, Error> {
        let aliases = |sql: &str, id: i64| -> Result<Vec<String>, Error> {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map([id], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let mut stmt = conn.prepare("SELECT id, name, slug, builtin FROM manufacturers ORDER BY name")?;
        let mut manufacturers = stmt
            .query_map([], |r| {
                Ok(Manufacturer {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    slug: r.get(2)?,
                    aliases: vec![],
                    builtin: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for m in &mut manufacturers {
            m.aliases = aliases(
                "SELECT alias FROM aliases WHERE manufacturer_id = ?1 ORDER BY id",
                m.id,
            )?;
        }
        let mut stmt = conn.prepare(
            "SELECT s.id, s.manufacturer_id, s.name, s.slug, s.builtin FROM systems s
             JOIN manufacturers m ON m.id = s.manufacturer_id ORDER BY m.name, s.name",
        )?;
        let mut systems = stmt
            .query_map([], |r| {
                Ok(System {
                    id: r.get(0)?,
                    manufacturer_id: r.get(1)?,
                    name: r.get(2)?,
                    slug: r.get(3)?,
                    aliases: vec![],
                    builtin: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for s in &mut systems {
            s.aliases = aliases("SELECT alias FROM aliases WHERE system_id = ?1 ORDER BY id", s.id)?;
        }
        Ok(Self {
            manufacturers,
            systems,
        })
    }

    /// The manufacturer with this id.
    pub fn manufacturer(&self, id: i64) -> Option<&Manufacturer> {
        self.manufacturers.iter().find(|m| m.id == id)
    }

    /// The system with this id.
    pub fn system(&self, id: i64) -> Option<&System> {
        self.systems.iter().find(|s| s.id == id)
    }

    /// Find a manufacturer by name, alias, or an unambiguous prefix of either.
    pub fn resolve_manufacturer(&self, query: &str) -> Result<&Manufacturer, Error> {
        let names = |m: &Manufacturer| names_of(&m.name, &m.aliases);
        let all: Vec<&Manufacturer> = self.manufacturers.iter().collect();
        pick(&all, &key(query), query, names, "manufacturer", |m| {
            m.name.clone()
        })
    }

    /// Find a system, optionally within a manufacturer. The system text may itself start with the
    /// manufacturer ("Straumann BLT").
    pub fn resolve_system(
        &self,
        manufacturer: Option<&str>,
        system: &str,
    ) -> Result<(&Manufacturer, &System), Error> {
        let within: Vec<&Manufacturer> = match manufacturer.filter(|m| !m.trim().is_empty()) {
            Some(m) => vec![self.resolve_manufacturer(m)?],
            None => self.manufacturers.iter().collect(),
        };
        let q = key(system);
        // Strip a leading manufacturer name or alias ("straumannblt" -> "blt") when one matches.
        let mut queries = vec![q.clone()];
        for m in &within {
            for n in names_of(&m.name, &m.aliases) {
                if q.len() > n.len() && q.starts_with(&n) {
                    queries.push(q[n.len()..].to_string());
                }
            }
        }
        let candidates: Vec<&System> = self
            .systems
            .iter()
            .filter(|s| within.iter().any(|m| m.id == s.manufacturer_id))
            .collect();
        let mut last_err = None;
        for q in &queries {
            match pick(
                &candidates,
                q,
                system,
                |s| names_of(&s.name, &s.aliases),
                "system",
                |s| self.label(s),
            ) {
                Ok(s) => {
                    let m = self
                        .manufacturer(s.manufacturer_id)
                        .expect("system's manufacturer is loaded");
                    return Ok((m, s));
                }
                Err(e) => {
                    last_err.get_or_insert(e);
                }
            }
        }
        Err(last_err.expect("at least one query was tried"))
    }

    /// "Manufacturer System", for messages and listings.
    pub fn label(&self, s: &System) -> String {
        match self.manufacturer(s.manufacturer_id) {
            Some(m) => format!("{} {}", m.name, s.name),
            None => s.name.clone(),
        }
    }
}

/// Matching keys of a canonical name and its aliases.
fn names_of(name: &str, aliases: &[String]) -> Vec<String> {
    std::iter::once(name)
        .chain(aliases.iter().map(String::as_str))
        .map(key)
        .collect()
}

/// Find the item whose name or alias has key `q` (`query` is the curator's text, for messages):
/// exact key match first, then a unique prefix match; otherwise a message listing what was close.
fn pick<'a, T>(
    items: &[&'a T],
    q: &str,
    query: &str,
    names: impl Fn(&T) -> Vec<String>,
    what: &str,
    display: impl Fn(&T) -> String,
) -> Result<&'a T, Error>
where
    T: ?Sized,
{
    let q = q.to_string();
    if q.is_empty() {
        return Err(Error::Invalid(format!("empty {what} name")));
    }
    let exact: Vec<&T> = items.iter().copied().filter(|i| names(i).contains(&q)).collect();
    let prefix: Vec<&T> = items
        .iter()
        .copied()
        .filter(|i| names(i).iter().any(|n| n.starts_with(&q)))
        .collect();
    let found = if exact.is_empty() { prefix } else { exact };
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::Invalid(format!(
            "unknown {what} '{query}' (see `raiox catalogue list`, or add it with `raiox catalogue add`)"
        ))),
        many => Err(Error::Invalid(format!(
            "ambiguous {what} '{query}': could be {}",
            many.iter().map(|i| display(i)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The ids of a manufacturer (found by name or alias, else added) and of its system (added when
/// missing, with extra `aliases`). An ambiguous manufacturer name is refused rather than added.
///
/// Why one function: import labels, the CLI, the window and rows pulled from production all add a
/// system this way.
pub fn find_or_add(
    conn: &mut Connection,
    manufacturer: &str,
    system: &str,
    aliases: &[String],
) -> Result<(i64, i64), Error> {
    let mid = match Catalogue::load(conn)?.resolve_manufacturer(manufacturer) {
        Ok(m) => m.id,
        Err(e) if e.to_string().starts_with("ambiguous") => return Err(e),
        Err(_) => add_manufacturer(conn, manufacturer, &[])?,
    };
    Ok((mid, add_system(conn, mid, system, aliases)?))
}

/// Add a manufacturer (or return the existing one with the same slug), with extra aliases.
pub fn add_manufacturer(conn: &mut Connection, name: &str, aliases: &[String]) -> Result<i64, Error> {
    let name = name.trim();
    if key(name).is_empty() {
        return Err(Error::Invalid(format!(
            "manufacturer name '{name}' has no letters or digits"
        )));
    }
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO manufacturers (name, slug) VALUES (?1, ?2)",
        (name, slug(name)),
    )?;
    let id: i64 = tx.query_row(
        "SELECT id FROM manufacturers WHERE slug = ?1",
        [slug(name)],
        |r| r.get(0),
    )?;
    for a in aliases {
        tx.execute(
            "INSERT OR IGNORE INTO aliases (manufacturer_id, alias, key) VALUES (?1, ?2, ?3)",
            (id, a, key(a)),
        )?;
    }
    tx.commit()?;
    Ok(id)
}

/// Add a system under an existing manufacturer (or return the existing one), with extra aliases.
pub fn add_system(
    conn: &mut Connection,
    manufacturer_id: i64,
    name: &str,
    aliases: &[String],
) -> Result<i64, Error> {
    let name = name.trim();
    if key(name).is_empty() {
        return Err(Error::Invalid(format!(
            "system name '{name}' has no letters or digits"
        )));
    }
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO systems (manufacturer_id, name, slug) VALUES (?1, ?2, ?3)",
        (manufacturer_id, name, slug(name)),
    )?;
    let id: Option<i64> = tx
        .query_row(
            "SELECT id FROM systems WHERE manufacturer_id = ?1 AND slug = ?2",
            (manufacturer_id, slug(name)),
            |r| r.get(0),
        )
        .optional()?;
    let id = id.ok_or_else(|| Error::Invalid(format!("no manufacturer with id {manufacturer_id}")))?;
    for a in aliases {
        tx.execute(
            "INSERT OR IGNORE INTO aliases (system_id, alias, key) VALUES (?1, ?2, ?3)",
            (id, a, key(a)),
        )?;
    }
    tx.commit()?;
    Ok(id)
}
