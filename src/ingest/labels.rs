//! Where import labels come from: one label for the batch, a CSV, or the folder layout.
//!
//! Why: curators arrive with images already sorted (by folder, or in a spreadsheet); taking those
//! labels at import saves re-labelling thousands of images by hand.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::Error;

/// How labels are found for imported files.
#[derive(Debug, Clone, Default)]
pub enum LabelSource {
    /// Import unlabelled.
    #[default]
    None,
    /// The same manufacturer/system for every file.
    Fixed {
        /// Manufacturer name or alias (optional when the system names it).
        manufacturer: Option<String>,
        /// System name or alias.
        system: String,
    },
    /// A CSV with header `path,manufacturer,system`, paths relative to the CSV's folder.
    Csv(PathBuf),
    /// `<Manufacturer>/<System>/<file>`: the two folders above each file.
    FromDirs,
}

/// A label as written by the curator, before it is resolved against the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawLabel {
    /// Manufacturer text.
    pub manufacturer: Option<String>,
    /// System text.
    pub system: String,
}

/// Looks up the raw label of each file.
pub struct Labeller {
    source: LabelSource,
    csv: HashMap<PathBuf, RawLabel>,
}

/// The files a labels CSV names, in its order (absolute paths), for `raiox import --labels CSV`
/// without paths: the CSV already says which files to import.
pub fn csv_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    Ok(read_csv(path)?.into_iter().map(|(file, _)| file).collect())
}

impl Labeller {
    /// Prepare a label source (reads and checks the CSV, if any).
    pub fn new(source: LabelSource) -> Result<Self, Error> {
        let csv = match &source {
            LabelSource::Csv(path) => read_csv(path)?.into_iter().collect(),
            _ => HashMap::new(),
        };
        Ok(Labeller { source, csv })
    }

    /// The label for an item that has no path (a URL, a pasted image): only a fixed label applies.
    pub fn label_for_unnamed(&self) -> Option<RawLabel> {
        match &self.source {
            LabelSource::Fixed { manufacturer, system } => Some(RawLabel {
                manufacturer: manufacturer.clone(),
                system: system.clone(),
            }),
            _ => None,
        }
    }

    /// The raw label for `file`, if the source has one.
    pub fn label_for(&self, file: &Path) -> Option<RawLabel> {
        match &self.source {
            LabelSource::None => None,
            LabelSource::Fixed { manufacturer, system } => Some(RawLabel {
                manufacturer: manufacturer.clone(),
                system: system.clone(),
            }),
            LabelSource::Csv(_) => self.csv.get(&normalise(file)).cloned(),
            LabelSource::FromDirs => {
                let abs = normalise(file);
                let system = abs.parent()?;
                let manufacturer = system.parent()?;
                Some(RawLabel {
                    manufacturer: Some(manufacturer.file_name()?.to_string_lossy().into_owned()),
                    system: system.file_name()?.to_string_lossy().into_owned(),
                })
            }
        }
    }
}

/// Absolute, symlink-resolved form of a path (lexical when the file cannot be resolved).
pub fn normalise(path: &Path) -> PathBuf {
    path.canonicalize()
        .unwrap_or_else(|_| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

fn read_csv(path: &Path) -> Result<Vec<(PathBuf, RawLabel)>, Error> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    let headers = reader
        .headers()
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: the header must have path,manufacturer,system (no '{name}' column)",
                    path.display()
                ))
            })
    };
    let (p, m, s) = (column("path")?, column("manufacturer")?, column("system")?);
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| Error::Invalid(format!("{} line {}: {e}", path.display(), i + 2)))?;
        let (file, manufacturer, system) = (
            row.get(p).unwrap_or(""),
            row.get(m).unwrap_or(""),
            row.get(s).unwrap_or(""),
        );
        if file.is_empty() || system.is_empty() {
            return Err(Error::Invalid(format!(
                "{} line {}: path and system are required",
                path.display(),
                i + 2
            )));
        }
        let manufacturer = (!manufacturer.is_empty()).then(|| manufacturer.to_string());
        out.push((
            normalise(&base.join(file)),
            RawLabel {
                manufacturer,
                system: system.to_string(),
            },
        ));
    }
    Ok(out)
}
