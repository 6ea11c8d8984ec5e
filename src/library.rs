//! A library on disk: `library.db`, content-addressed `originals/` and `standard/` images.
//!
//! Why: the catalogue must survive a kill -9 at any moment. Files are written to a temporary name
//! and renamed into place (content-addressed, so a rewrite is harmless) *before* the database
//! transaction that references them commits. A crash therefore leaves at worst unreferenced files,
//! which [`Library::sweep`] removes on the next import or check: every file left is explained by a row.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::Connection;
use serde::Serialize;

use crate::catalogue::db;
use crate::Error;

/// An open library.
pub struct Library {
    layout: Layout,
    conn: Connection,
}

/// Where a library's files live; cheap to share with worker threads (the connection is not).
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Where the original with this SHA-256 and extension lives.
    pub fn original_path(&self, sha256: &str, ext: &str) -> PathBuf {
        self.root
            .join("originals")
            .join(&sha256[..2])
            .join(format!("{sha256}.{ext}"))
    }

    /// Where the standardised image with this SHA-256 lives.
    pub fn standard_path(&self, standard_sha256: &str) -> PathBuf {
        self.root
            .join("standard")
            .join(&standard_sha256[..2])
            .join(format!("{standard_sha256}.png"))
    }
}

/// What [`Library::sweep`] removed.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct SweepReport {
    /// Unfinished temporary files removed.
    pub temp_files: usize,
    /// Complete files that no record references (an import killed before its commit).
    pub orphans: usize,
}

/// The result of [`Library::check`].
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// SQLite's `PRAGMA integrity_check` verdict ("ok" when sound).
    pub integrity: String,
    /// Records checked.
    pub records: usize,
    /// Records whose original or standard file is missing or does not match its hash.
    pub damaged: Vec<String>,
    /// Leftovers removed.
    pub swept: SweepReport,
}

impl Library {
    /// The platform's default library folder (e.g. `~/.local/share/raioxstudio` on Linux).
    pub fn default_root() -> Option<PathBuf> {
        directories::ProjectDirs::from("ai", "Raiox", "Raiox Studio").map(|d| d.data_dir().to_path_buf())
    }

    /// Open the library at `root`, creating its folders and database on first use.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        for dir in [root.clone(), root.join("originals"), root.join("standard")] {
            fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        let conn = db::open(&root.join("library.db"))?;
        Ok(Library {
            layout: Layout { root },
            conn,
        })
    }

    /// The library folder.
    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    /// File locations, for worker threads.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The database connection, for reads.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The database connection, for transactions.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Where the original with this SHA-256 and extension lives.
    pub fn original_path(&self, sha256: &str, ext: &str) -> PathBuf {
        self.layout.original_path(sha256, ext)
    }

    /// Where the standardised image with this SHA-256 lives.
    pub fn standard_path(&self, standard_sha256: &str) -> PathBuf {
        self.layout.standard_path(standard_sha256)
    }

    /// Remove temporary files and files that no record references.
    pub fn sweep(&self) -> Result<SweepReport, Error> {
        let mut referenced = HashSet::new();
        let mut stmt = self
            .conn
            .prepare("SELECT sha256, original_ext, standard_sha256 FROM images")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (sha, ext, std_sha) = row?;
            referenced.insert(self.original_path(&sha, &ext));
            referenced.insert(self.standard_path(&std_sha));
        }
        let mut report = SweepReport::default();
        for top in ["originals", "standard"] {
            for file in files_under(&self.layout.root.join(top))? {
                let is_temp = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains(".tmp"));
                if is_temp || !referenced.contains(&file) {
                    fs::remove_file(&file).map_err(|e| Error::io(&file, e))?;
                    if is_temp {
                        report.temp_files += 1;
                    } else {
                        report.orphans += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Verify the database and every record's files, then sweep leftovers.
    pub fn check(&self) -> Result<CheckReport, Error> {
        let integrity: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        let mut stmt = self
            .conn
            .prepare("SELECT id, sha256, original_ext, standard_sha256 FROM images ORDER BY id")?;
        let rows: Vec<(i64, String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let mut damaged = Vec::new();
        for (id, sha, ext, std_sha) in &rows {
            let mut files = vec![("standard image", self.standard_path(std_sha), std_sha)];
            // Items pulled from production have no original here (only their standard image).
            if !sha.starts_with("remote:") {
                files.push(("original", self.original_path(sha, ext), sha));
            }
            for (what, path, want) in files {
                match fs::read(&path) {
                    Ok(bytes) if &sha256_hex(&bytes) == want => {}
                    Ok(_) => damaged.push(format!(
                        "image {id}: {what} {} does not match its hash",
                        path.display()
                    )),
                    Err(e) => damaged.push(format!("image {id}: {what} {}: {e}", path.display())),
                }
            }
        }
        let swept = self.sweep()?;
        Ok(CheckReport {
            integrity,
            records: rows.len(),
            damaged,
            swept,
        })
    }
}

/// Hex SHA-256 of some bytes: the identity of originals and standard images.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Write `bytes` to `path` atomically (temporary file, fsync, rename); a file already there is
/// content-addressed, so it is left as it is.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().expect("library paths have a parent");
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(
        "{}.{}-{n}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Every regular file below `dir` (missing folder → none).
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&d, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&d, e))?;
            let kind = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    Ok(out)
}
