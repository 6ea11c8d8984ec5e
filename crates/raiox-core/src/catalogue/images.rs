//! Implant records: what the library knows about each implant, its box, standard image and label.
//!
//! Why a module of its own: every front (CLI, GUI, later sync) reads and writes records through
//! these functions, so the naming rule and the status rules live in one place. Writes take a
//! transaction so the caller decides what commits together.

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

use crate::catalogue::naming::standard_name;
use crate::decode::Technical;
use crate::standardise::{Aabb, Fixture, Params};
use crate::Error;

/// Curation state of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No manufacturer/system yet.
    Unlabelled,
    /// Labelled (by import or a curator) but not yet checked.
    Labelled,
    /// Checked and confirmed by a curator.
    Confirmed,
}

impl Status {
    /// Every state, in order (what a front offers as choices).
    pub const ALL: [Status; 3] = [Status::Unlabelled, Status::Labelled, Status::Confirmed];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unlabelled => "unlabelled",
            Status::Labelled => "labelled",
            Status::Confirmed => "confirmed",
        }
    }

    /// Parse the stored spelling (anything else is unlabelled).
    pub fn parse(s: &str) -> Status {
        match s {
            "labelled" => Status::Labelled,
            "confirmed" => Status::Confirmed,
            _ => Status::Unlabelled,
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::util::parse_choice(s, &Status::ALL, |v| v.as_str())
    }
}

/// Kind of radiograph or picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    /// Intra-oral periapical film or sensor image.
    Periapical,
    /// Panoramic (OPG) radiograph.
    Panoramic,
    /// A photograph (of a film, a screen, an implant box).
    Photo,
}

impl Modality {
    /// Every modality (what a front offers as choices).
    pub const ALL: [Modality; 3] = [Modality::Periapical, Modality::Panoramic, Modality::Photo];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Modality::Periapical => "periapical",
            Modality::Panoramic => "panoramic",
            Modality::Photo => "photo",
        }
    }

    fn parse(s: &str) -> Option<Modality> {
        match s {
            "periapical" => Some(Modality::Periapical),
            "panoramic" => Some(Modality::Panoramic),
            "photo" => Some(Modality::Photo),
            _ => None,
        }
    }
}

impl std::str::FromStr for Modality {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::util::parse_choice(s, &Modality::ALL, |v| v.as_str())
    }
}

/// Optional per-image facts a curator may add.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attributes {
    /// Kind of image.
    pub modality: Option<Modality>,
    /// Implant diameter in mm.
    pub diameter_mm: Option<f64>,
    /// Implant length in mm.
    pub length_mm: Option<f64>,
    /// Connection type (e.g. "conical", "internal hex").
    pub connection: Option<String>,
    /// Free-text notes.
    pub notes: Option<String>,
}

/// How an implant's box came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoxSource {
    /// Proposed by the implant finder.
    Finder,
    /// Drawn or corrected by a curator (or given in a labels CSV): the finder never overrides it.
    Manual,
    /// The crop an image had before films held several implants.
    Migrated,
    /// Pulled from production, which keeps no box.
    Production,
}

impl BoxSource {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BoxSource::Finder => "finder",
            BoxSource::Manual => "manual",
            BoxSource::Migrated => "migrated",
            BoxSource::Production => "production",
        }
    }

    fn parse(s: &str) -> BoxSource {
        match s {
            "finder" => BoxSource::Finder,
            "manual" => BoxSource::Manual,
            "migrated" => BoxSource::Migrated,
            _ => BoxSource::Production,
        }
    }
}

/// One implant of the library: the item that is labelled, embedded, named and synced.
#[derive(Debug, Clone, Serialize)]
pub struct ImageRecord {
    /// Database id.
    pub id: i64,
    /// The film it was found on; `None` for an implant pulled from production.
    pub film_id: Option<i64>,
    /// SHA-256 of the film's original bytes.
    pub film_sha256: Option<String>,
    /// Extension of the film's stored original.
    #[serde(skip)]
    pub original_ext: Option<String>,
    /// Where the film came from: local provenance only, never exported or uploaded.
    #[serde(skip)]
    pub source_name: Option<String>,
    /// Detected format of the film.
    pub source_format: Option<String>,
    /// Film width (after EXIF orientation).
    pub width: Option<u32>,
    /// Film height.
    pub height: Option<u32>,
    /// Non-identifying technical metadata of the film.
    pub technical: Technical,
    /// The fixture's oriented box in the film's pixels.
    pub fixture: Option<Fixture>,
    /// Axis-aligned box around the fixture in the film's pixels.
    #[serde(rename = "box")]
    pub aabb: Option<Aabb>,
    /// Apex direction of the fixture (0 = apex down, 180 = apex up).
    pub angle_deg: Option<f32>,
    /// How the box came about.
    pub box_source: BoxSource,
    /// Standardisation parameters.
    pub params: Params,
    /// Whether the film was treated as inverted.
    pub inverted: bool,
    /// SHA-256 of the standard PNG.
    pub standard_sha256: String,
    /// Canonical manufacturer name.
    pub manufacturer: Option<String>,
    /// Canonical system name.
    pub system: Option<String>,
    /// System id.
    pub system_id: Option<i64>,
    /// Optional attributes.
    pub attributes: Attributes,
    /// Curation state.
    pub status: Status,
    /// Standard file name, set once labelled.
    pub name: Option<String>,
    /// Creation time (UTC, ISO 8601).
    pub created_at: String,
    /// Last change (UTC, ISO 8601).
    pub updated_at: String,
    /// Made in this library (its original is here), not pulled from production.
    #[serde(skip)]
    pub origin_local: bool,
}

impl ImageRecord {
    /// The implant's box; every implant on a film of this library has one (pulled ones do not).
    pub fn required_fixture(&self) -> Result<Fixture, Error> {
        self.fixture
            .ok_or_else(|| Error::Invalid(format!("implant {} has no box", self.id)))
    }

    /// The film's original as (sha256, extension), when this library has it.
    pub fn original(&self) -> Option<(&str, &str)> {
        Some((self.film_sha256.as_deref()?, self.original_ext.as_deref()?))
    }
}

/// Everything needed to insert a freshly found implant.
#[derive(Debug, Clone)]
pub struct NewImage {
    /// The film it is on.
    pub film_id: i64,
    /// Its fixture box.
    pub fixture: Fixture,
    /// How the box came about.
    pub box_source: BoxSource,
    /// Parameters used.
    pub params: Params,
    /// SHA-256 of the standard PNG.
    pub standard_sha256: String,
    /// Modality, when the source says (DICOM).
    pub modality: Option<Modality>,
}

const SELECT: &str =
    "SELECT i.id, f.id, f.sha256, f.original_ext, f.source_name, f.source_format, f.width, f.height,
    f.technical, i.params, i.fixture, COALESCE(f.inverted, 0), i.standard_sha256, m.name, s.name, i.system_id,
    i.modality, i.diameter_mm, i.length_mm, i.connection, i.notes, i.status, i.standard_name,
    i.created_at, i.updated_at, i.origin, i.box_source
    FROM images i LEFT JOIN films f ON f.id = i.film_id
    LEFT JOIN systems s ON s.id = i.system_id LEFT JOIN manufacturers m ON m.id = i.manufacturer_id";

/// A JSON column decoded into its type.
fn json<T: serde::de::DeserializeOwned>(r: &Row, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into()))
}

fn from_row(r: &Row) -> rusqlite::Result<ImageRecord> {
    let fixture: Option<Fixture> = match r.get::<_, Option<String>>(10)? {
        Some(_) => Some(json(r, 10)?),
        None => None,
    };
    let technical: Option<String> = r.get(8)?;
    Ok(ImageRecord {
        id: r.get(0)?,
        film_id: r.get(1)?,
        film_sha256: r.get(2)?,
        original_ext: r.get(3)?,
        source_name: r.get(4)?,
        source_format: r.get(5)?,
        width: r.get(6)?,
        height: r.get(7)?,
        technical: technical
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        params: json(r, 9)?,
        aabb: fixture.map(|f| f.aabb()),
        angle_deg: fixture.map(|f| f.angle_deg),
        fixture,
        inverted: r.get(11)?,
        standard_sha256: r.get(12)?,
        manufacturer: r.get(13)?,
        system: r.get(14)?,
        system_id: r.get(15)?,
        attributes: Attributes {
            modality: r
                .get::<_, Option<String>>(16)?
                .as_deref()
                .and_then(Modality::parse),
            diameter_mm: r.get(17)?,
            length_mm: r.get(18)?,
            connection: r.get(19)?,
            notes: r.get(20)?,
        },
        status: Status::parse(&r.get::<_, String>(21)?),
        name: r.get(22)?,
        created_at: r.get(23)?,
        updated_at: r.get(24)?,
        origin_local: r.get::<_, String>(25)? == "local",
        box_source: BoxSource::parse(&r.get::<_, String>(26)?),
    })
}

/// The implants of a film, in box order.
pub fn ids_of_film(conn: &Connection, film_id: i64) -> Result<Vec<i64>, Error> {
    let mut stmt = conn.prepare("SELECT id FROM images WHERE film_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([film_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Insert a new implant (unlabelled) and return its id.
pub fn insert(tx: &Transaction, img: &NewImage) -> Result<i64, Error> {
    tx.execute(
        "INSERT INTO images (film_id, fixture, box_source, params, params_version, standard_sha256, modality)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            img.film_id,
            serde_json::to_string(&img.fixture)?,
            img.box_source.as_str(),
            serde_json::to_string(&img.params)?,
            img.params.version,
            img.standard_sha256,
            img.modality.map(Modality::as_str),
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Give an implant production's label, attributes, status and standard image (a pulled row).
pub fn set_pulled(
    tx: &Connection,
    id: i64,
    manufacturer_id: i64,
    system_id: i64,
    a: &Attributes,
    status: Status,
    standard_sha256: &str,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE images SET manufacturer_id = ?2, system_id = ?3, modality = ?4, diameter_mm = ?5, length_mm = ?6,
             connection = ?7, notes = ?8, status = ?9, standard_sha256 = ?10,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ?1",
        rusqlite::params![
            id,
            manufacturer_id,
            system_id,
            a.modality.map(|m| m.as_str()),
            a.diameter_mm,
            a.length_mm,
            a.connection,
            a.notes,
            status.as_str(),
            standard_sha256,
        ],
    )?;
    Ok(())
}

/// How many implants the library holds.
pub fn count(conn: &Connection) -> Result<usize, Error> {
    Ok(conn.query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0))?)
}

/// Local implants whose standard image an older pipeline made (or every local one with `all`).
pub fn restandardise_ids(conn: &Connection, all: bool) -> Result<Vec<i64>, Error> {
    let mut stmt = conn.prepare(
        "SELECT id FROM images WHERE origin = 'local' AND (?1 OR params_version < ?2) ORDER BY id",
    )?;
    let rows = stmt.query_map(
        rusqlite::params![all, crate::standardise::PIPELINE_VERSION],
        |r| r.get(0),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Insert an implant pulled from production (no film here, no box) and return its id.
pub fn insert_pulled(tx: &Connection, params: &Params, standard_sha256: &str) -> Result<i64, Error> {
    tx.execute(
        "INSERT INTO images (film_id, fixture, box_source, params, params_version, standard_sha256, origin)
         VALUES (NULL, NULL, 'production', ?1, ?2, ?3, 'remote')",
        params![serde_json::to_string(params)?, params.version, standard_sha256],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Every implant's standard image: (id, standard sha256), for integrity checks and sweeps.
pub fn standards(conn: &Connection) -> Result<Vec<(i64, String)>, Error> {
    let mut stmt = conn.prepare("SELECT id, standard_sha256 FROM images ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One image by id.
pub fn get(conn: &Connection, id: i64) -> Result<ImageRecord, Error> {
    conn.query_row(&format!("{SELECT} WHERE i.id = ?1"), [id], from_row)
        .optional()?
        .ok_or(Error::NotFound(id))
}

/// All images, optionally only those with one status, in id order.
pub fn list(conn: &Connection, status: Option<Status>) -> Result<Vec<ImageRecord>, Error> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE ?1 IS NULL OR i.status = ?1 ORDER BY i.id"
    ))?;
    let rows = stmt.query_map([status.map(Status::as_str)], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Change an image's label, attributes and status, and give it its standard name.
///
/// The name's sequence number is kept while the system stays the same (names are stable) and a new
/// one is drawn, one past the highest in use, when the system changes.
pub fn set_label(
    tx: &Transaction,
    id: i64,
    system: Option<(i64, i64)>,
    attributes: &Attributes,
    status: Status,
) -> Result<Option<String>, Error> {
    let (old_system, old_seq): (Option<i64>, Option<u32>) = tx
        .query_row(
            "SELECT system_id, name_seq FROM images WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or(Error::NotFound(id))?;
    let status = if system.is_none() {
        Status::Unlabelled
    } else if status == Status::Unlabelled {
        Status::Labelled
    } else {
        status
    };
    let (name, seq) = match system {
        None => (None, None),
        Some((mid, sid)) => {
            let seq = match old_seq {
                Some(seq) if old_system == Some(sid) => seq,
                _ => tx.query_row(
                    "SELECT COALESCE(MAX(name_seq), 0) + 1 FROM images WHERE system_id = ?1",
                    [sid],
                    |r| r.get(0),
                )?,
            };
            let (mslug, sslug): (String, String) = tx.query_row(
                "SELECT m.slug, s.slug FROM systems s JOIN manufacturers m ON m.id = s.manufacturer_id WHERE s.id = ?1 AND m.id = ?2",
                [sid, mid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            (
                Some(standard_name(
                    &mslug,
                    &sslug,
                    attributes.diameter_mm,
                    attributes.length_mm,
                    seq,
                )),
                Some(seq),
            )
        }
    };
    tx.execute(
        "UPDATE images SET manufacturer_id = ?2, system_id = ?3, modality = ?4, diameter_mm = ?5, length_mm = ?6,
            connection = ?7, notes = ?8, status = ?9,
            name_given = CASE WHEN standard_name IS ?10 THEN name_given ELSE 0 END,
            standard_name = ?10, name_seq = ?11,
            updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ?1",
        params![
            id,
            system.map(|s| s.0),
            system.map(|s| s.1),
            attributes.modality.map(Modality::as_str),
            attributes.diameter_mm,
            attributes.length_mm,
            attributes.connection,
            attributes.notes,
            status.as_str(),
            name,
            seq,
        ],
    )?;
    Ok(name)
}

/// Give an image the standard name production allocated (`name` must parse). Another image here
/// holding that name provisionally is renumbered (a provisional name is not stable by definition);
/// one holding it as given by production is an error (production never gives a name twice).
pub fn adopt_name(tx: &Connection, id: i64, name: &str) -> Result<(), Error> {
    let parts = crate::catalogue::naming::parse_standard_name(name)
        .ok_or_else(|| Error::Invalid(format!("{name:?} is not a standard name")))?;
    let holder: Option<(i64, bool)> = tx
        .query_row(
            "SELECT id, name_given FROM images WHERE standard_name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match holder {
        Some((other, _)) if other == id => {}
        Some((other, true)) => {
            return Err(Error::Invalid(format!(
                "production gave {name} to image {id}, but image {other} already has it from production"
            )))
        }
        Some((other, false)) => {
            let (stem, system_id): (String, Option<i64>) = tx.query_row(
                "SELECT standard_name, system_id FROM images WHERE id = ?1",
                [other],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let stem =
                crate::catalogue::naming::parse_standard_name(&stem).map_or(parts.stem.clone(), |p| p.stem);
            let seq: u32 = tx.query_row(
                "SELECT MAX(COALESCE(MAX(name_seq), 0), ?2) + 1 FROM images WHERE system_id IS ?1",
                params![system_id, parts.seq],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE images SET standard_name = ?2, name_seq = ?3 WHERE id = ?1",
                params![other, format!("{stem}_{seq:04}.png"), seq],
            )?;
        }
        None => {}
    }
    tx.execute(
        "UPDATE images SET standard_name = ?2, name_seq = ?3, name_given = 1 WHERE id = ?1",
        params![id, name, parts.seq],
    )?;
    Ok(())
}

/// Whether an image was made in this library (it then has an original here), not pulled.
pub fn is_local_origin(conn: &Connection, id: i64) -> Result<bool, Error> {
    let origin: String = conn.query_row("SELECT origin FROM images WHERE id = ?1", [id], |r| r.get(0))?;
    Ok(origin == "local")
}

/// Whether an image's standard name was given by production (else it is provisional).
pub fn name_given(conn: &Connection, id: i64) -> Result<bool, Error> {
    Ok(conn.query_row("SELECT name_given FROM images WHERE id = ?1", [id], |r| r.get(0))?)
}

/// Record an implant's new box and its re-derived standard image.
pub fn set_standard(
    tx: &Transaction,
    id: i64,
    params: &Params,
    fixture: &Fixture,
    box_source: BoxSource,
    standard_sha256: &str,
) -> Result<(), Error> {
    let n = tx.execute(
        "UPDATE images SET params = ?2, params_version = ?3, fixture = ?4, box_source = ?5, standard_sha256 = ?6,
            updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ?1",
        params![
            id,
            serde_json::to_string(params)?,
            params.version,
            serde_json::to_string(fixture)?,
            box_source.as_str(),
            standard_sha256
        ],
    )?;
    if n == 0 {
        return Err(Error::NotFound(id));
    }
    Ok(())
}

/// Delete an implant row (a catalogue trigger queues its production row for soft deletion).
pub fn delete(tx: &Connection, id: i64) -> Result<(), Error> {
    tx.execute("DELETE FROM images WHERE id = ?1", [id])?;
    Ok(())
}

/// How many records use this standard image (content-addressed files may be shared).
pub fn standard_refs(conn: &Connection, standard_sha256: &str) -> Result<i64, Error> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM images WHERE standard_sha256 = ?1",
        [standard_sha256],
        |r| r.get(0),
    )?)
}
