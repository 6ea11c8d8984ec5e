//! Export: what leaves the library for other tools — a table of labels and the standard images
//! under their standard names.
//!
//! Why in the core: what an export contains is a de-identification decision (no source paths, no
//! originals), and values in it may have come from production, which is not trusted. Both fronts
//! call this, so neither can forget that a name must be a plain file name and that a spreadsheet
//! cell starting with `=` is a formula.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalogue::images::{self, ImageRecord};
use crate::catalogue::naming::parse_standard_name;
use crate::library::Library;
use crate::Error;

/// One exported row: shareable fields only (no source path, nothing from the original's metadata).
#[derive(Debug, Clone, Serialize)]
pub struct ExportRow {
    /// Library id.
    pub id: i64,
    /// Standard name.
    pub name: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// System.
    pub system: Option<String>,
    /// Curation status.
    pub status: String,
    /// Modality.
    pub modality: Option<String>,
    /// Implant diameter.
    pub diameter_mm: Option<f64>,
    /// Implant length.
    pub length_mm: Option<f64>,
    /// Connection type.
    pub connection: Option<String>,
    /// Film width.
    pub width: Option<u32>,
    /// Film height.
    pub height: Option<u32>,
    /// SHA-256 of the film's original.
    pub sha256: Option<String>,
    /// SHA-256 of the standard image.
    pub standard_sha256: String,
}

impl ExportRow {
    fn of(r: &ImageRecord) -> ExportRow {
        ExportRow {
            id: r.id,
            name: r.name.clone(),
            manufacturer: r.manufacturer.clone(),
            system: r.system.clone(),
            status: r.status.as_str().to_string(),
            modality: r.attributes.modality.map(|m| m.as_str().to_string()),
            diameter_mm: r.attributes.diameter_mm,
            length_mm: r.attributes.length_mm,
            connection: r.attributes.connection.clone(),
            width: r.width,
            height: r.height,
            sha256: r.film_sha256.clone(),
            standard_sha256: r.standard_sha256.clone(),
        }
    }

    /// The same row with every text cell made inert for spreadsheets.
    fn csv_safe(&self) -> ExportRow {
        let f = |v: &Option<String>| v.as_deref().map(neutralise);
        ExportRow {
            name: f(&self.name),
            manufacturer: f(&self.manufacturer),
            system: f(&self.system),
            connection: f(&self.connection),
            status: neutralise(&self.status),
            modality: f(&self.modality),
            ..self.clone()
        }
    }
}

/// Every record of the library as an export row.
pub fn rows(lib: &Library) -> Result<Vec<ExportRow>, Error> {
    Ok(images::list(lib.conn(), None)?
        .iter()
        .map(ExportRow::of)
        .collect())
}

/// A text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return
/// first) gets a leading apostrophe, so it is shown, never evaluated.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// Write rows as CSV with every text cell neutralised.
pub fn write_csv(out: impl Write, rows: &[ExportRow]) -> Result<(), Error> {
    let mut w = csv::Writer::from_writer(out);
    for r in rows {
        w.serialize(r.csv_safe())
            .map_err(|e| Error::Invalid(format!("writing CSV: {e}")))?;
    }
    w.flush().map_err(|e| Error::io("CSV output", e))
}

/// What [`copy_images`] did.
#[derive(Debug, Default, Serialize)]
pub struct ImagesReport {
    /// Images written.
    pub copied: usize,
    /// Records left out: (id, why).
    pub skipped: Vec<(i64, String)>,
}

/// Copy every labelled standard image into `dir` under its standard name. A name that is not a
/// plain standard file name (say, one pulled from a hostile production row) is skipped with its
/// reason; nothing is ever written outside `dir`.
pub fn copy_images(lib: &Library, dir: &Path) -> Result<ImagesReport, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut report = ImagesReport::default();
    for r in images::list(lib.conn(), None)? {
        let Some(name) = r.name.as_deref() else {
            continue;
        };
        let Some(to) = safe_target(dir, name) else {
            report
                .skipped
                .push((r.id, format!("{name:?} is not a plain standard file name")));
            continue;
        };
        let from = lib.standard_path(&r.standard_sha256);
        match std::fs::copy(&from, &to) {
            Ok(_) => report.copied += 1,
            Err(e) => report.skipped.push((r.id, format!("{}: {e}", from.display()))),
        }
    }
    Ok(report)
}

/// `dir/name` when `name` is a standard name and a single plain path component.
fn safe_target(dir: &Path, name: &str) -> Option<PathBuf> {
    parse_standard_name(name)?;
    let p = Path::new(name);
    let mut parts = p.components();
    match (parts.next(), parts.next()) {
        (Some(std::path::Component::Normal(n)), None) if n == name => Some(dir.join(name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_plain_text_is_not() {
        assert_eq!(
            neutralise("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(neutralise("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        for c in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(c).starts_with('\''), "{c}");
        }
        assert_eq!(neutralise("Straumann"), "Straumann");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn only_plain_standard_names_become_files() {
        let dir = Path::new("/tmp/out");
        assert_eq!(
            safe_target(dir, "a_b_0001.png"),
            Some(PathBuf::from("/tmp/out/a_b_0001.png"))
        );
        for bad in [
            "../../a_b_0001.png",
            "/etc/a_b_0001.png",
            "a_b_0001.png/..",
            "x.png",
        ] {
            assert_eq!(safe_target(dir, bad), None, "{bad}");
        }
    }
}
