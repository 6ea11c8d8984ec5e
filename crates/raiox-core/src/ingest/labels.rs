//! Where import labels come from: one label for the batch, a CSV, or the folder layout.
//!
//! Why: curators arrive with images already sorted (by folder, or in a spreadsheet); taking those
//! labels at import saves re-labelling thousands of images by hand.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::standardise::BoxSpec;
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
    /// A CSV with header `path,manufacturer,system[,x,y,w,h[,angle]]`, paths relative to the CSV's
    /// folder, one row per implant.
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

/// One label for a film: which implant it names is given by its box, or, without a box, it names
/// the film's only implant.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRow {
    /// The label text.
    pub label: RawLabel,
    /// The implant's box, when the source gives one.
    pub bbox: Option<BoxSpec>,
}

impl LabelRow {
    /// A label without a box.
    pub fn whole(label: RawLabel) -> Self {
        LabelRow { label, bbox: None }
    }
}

/// Looks up the raw labels of each file.
pub struct Labeller {
    source: LabelSource,
    csv: HashMap<PathBuf, Vec<LabelRow>>,
}

/// The files a labels CSV names, in its order (absolute paths), for `raiox import --labels CSV`
/// without paths: the CSV already says which files to import.
pub fn csv_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files: Vec<PathBuf> = Vec::new();
    for (file, _) in read_csv(path)? {
        // Several rows (one per implant) name the same film once.
        if !files.contains(&file) {
            files.push(file);
        }
    }
    Ok(files)
}

impl Labeller {
    /// Prepare a label source (reads and checks the CSV, if any).
    pub fn new(source: LabelSource) -> Result<Self, Error> {
        let csv = match &source {
            LabelSource::Csv(path) => {
                let mut by_file: HashMap<PathBuf, Vec<LabelRow>> = HashMap::new();
                for (file, row) in read_csv(path)? {
                    by_file.entry(file).or_default().push(row);
                }
                by_file
            }
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

    /// The raw labels for `file` (one per implant the source names; empty when it has none).
    pub fn labels_for(&self, file: &Path) -> Vec<LabelRow> {
        match &self.source {
            LabelSource::Csv(_) => self.csv.get(&normalise(file)).cloned().unwrap_or_default(),
            _ => self.label_for(file).map(LabelRow::whole).into_iter().collect(),
        }
    }

    /// The one box-less label for `file` from a fixed label or the folder layout.
    fn label_for(&self, file: &Path) -> Option<RawLabel> {
        match &self.source {
            LabelSource::None | LabelSource::Csv(_) => None,
            LabelSource::Fixed { manufacturer, system } => Some(RawLabel {
                manufacturer: manufacturer.clone(),
                system: system.clone(),
            }),
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

/// Rows of a labels CSV: `path,manufacturer,system` and optionally `x,y,w,h[,angle]` (the
/// implant's axis-aligned box in the film's pixels and its apex angle), one row per implant.
fn read_csv(path: &Path) -> Result<Vec<(PathBuf, LabelRow)>, Error> {
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
    let optional = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let box_columns = match ["x", "y", "w", "h"].map(optional) {
        [Some(x), Some(y), Some(w), Some(h)] => Some(([x, y, w, h], optional("angle"))),
        [None, None, None, None] => None,
        _ => {
            return Err(Error::Invalid(format!(
                "{}: a box needs all four columns x,y,w,h",
                path.display()
            )))
        }
    };
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
        let bbox = match box_columns {
            None => None,
            Some((cols, angle)) => {
                let cell = |c: usize| row.get(c).unwrap_or("").trim();
                let mut text: Vec<&str> = cols.iter().map(|&c| cell(c)).collect();
                if let Some(a) = angle.map(cell).filter(|a| !a.is_empty()) {
                    text.push(a);
                }
                if text[..4].iter().all(|t| t.is_empty()) {
                    None
                } else {
                    Some(
                        text.join(",")
                            .parse::<BoxSpec>()
                            .map_err(|e| Error::Invalid(format!("{} line {}: {e}", path.display(), i + 2)))?,
                    )
                }
            }
        };
        out.push((
            normalise(&base.join(file)),
            LabelRow {
                label: RawLabel {
                    manufacturer,
                    system: system.to_string(),
                },
                bbox,
            },
        ));
    }
    Ok(out)
}
