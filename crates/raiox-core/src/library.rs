//! A library on disk: `library.db`, content-addressed `originals/` and `standard/` images.
//!
//! Why: the catalogue must survive a kill -9 at any moment. Files are written to a temporary name
//! and renamed into place (content-addressed, so a rewrite is harmless) *before* the database
//! transaction that references them commits. A crash therefore leaves at worst unreferenced files,
//! which [`Library::sweep`] removes on the next import or check: every file left is explained by a row.
//!
//! Two raiox processes (the window and a CLI, say) may share one library: every job that writes
//! files holds the library lock shared ([`Library::writing`]); a sweep needs it exclusively and is
//! skipped while anyone writes, so it can never take another process's files for leftovers.
//! Originals are the curator's only copy of a film: they are never deleted, only moved to `trash/`.

use std::collections::HashSet;
use std::fs;
#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde::Serialize;

use crate::catalogue::db;
use crate::util::{create_private_dir, is_sha256_hex, sha256_hex};
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
    ///
    /// Paths are built only from a valid hash and a plain extension; anything else (a value that
    /// came from somewhere untrusted) maps to a name inside the library that no file ever has.
    pub fn original_path(&self, sha256: &str, ext: &str) -> PathBuf {
        let ext = if is_plain_ext(ext) { ext } else { "invalid" };
        self.content_path("originals", sha256, ext)
    }

    /// Where the standardised image with this SHA-256 lives.
    pub fn standard_path(&self, standard_sha256: &str) -> PathBuf {
        self.content_path("standard", standard_sha256, "png")
    }

    /// The standardised image with this SHA-256, in grey: what the fronts and the copy check
    /// compare and show; the error names the file.
    pub fn read_standard(&self, standard_sha256: &str) -> Result<image::GrayImage, Error> {
        let path = self.standard_path(standard_sha256);
        Ok(image::open(&path)
            .map_err(|e| Error::Image {
                step: "reading a standard image",
                reason: format!("{}: {e}", path.display()),
            })?
            .to_luma8())
    }

    fn content_path(&self, top: &str, sha256: &str, ext: &str) -> PathBuf {
        if !is_sha256_hex(sha256) {
            return self.root.join(top).join("invalid-hash").join(INVALID_NAME);
        }
        self.root
            .join(top)
            .join(&sha256[..2])
            .join(format!("{sha256}.{ext}"))
    }

    /// The folder of derived data that can always be recomputed (the embedding map): deleting it
    /// loses nothing but time, so no database table or migration is needed for it.
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// The folder deleted and orphaned originals are moved to (emptied by the curator).
    pub fn trash_dir(&self) -> PathBuf {
        self.root.join("trash")
    }
}

/// A file name no content-addressed file has: the target of paths built from invalid hashes.
const INVALID_NAME: &str = "no-such-file";

/// Whether `ext` is a plain file extension (1–8 ASCII letters or digits).
fn is_plain_ext(ext: &str) -> bool {
    (1..=8).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A hold on the library lock (`library.lock`), released when dropped.
///
/// Why a file lock: it is the one thing two processes (or two handles in one process) both see,
/// and the kernel releases it when a process dies, so a `kill -9` never leaves the library locked.
#[derive(Debug)]
pub struct LibraryLock {
    _file: fs::File,
}

/// What [`Library::sweep`] removed.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct SweepReport {
    /// Unfinished temporary files removed.
    pub temp_files: usize,
    /// Complete files that no record references (an import killed before its commit); orphaned
    /// originals are moved to the trash, never deleted.
    pub orphans: usize,
    /// Whether the sweep was skipped because another job or process was writing to the library.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped_busy: bool,
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
            create_private_dir(&dir)?;
            narrow_dir(&dir)?;
        }
        let db_path = root.join("library.db");
        let conn = db::open(&db_path)?;
        // Originals keep every DICOM tag and source names may hold patients' names: owner only.
        for file in ["library.db", "library.db-wal", "library.db-shm"] {
            make_private_file(&root.join(file))?;
        }
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

    /// Hold the library lock shared while this job writes files, so no sweep (here or in another
    /// process) mistakes them for leftovers. Waits while a sweep runs (sweeps are short).
    pub fn writing(&self) -> Result<LibraryLock, Error> {
        let file = self.lock_file()?;
        let path = self.root().join("library.lock");
        file.lock_shared().map_err(|e| Error::io(&path, e))?;
        Ok(LibraryLock { _file: file })
    }

    fn lock_file(&self) -> Result<fs::File, Error> {
        let path = self.root().join("library.lock");
        let mut opts = fs::OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        opts.mode(0o600);
        opts.open(&path).map_err(|e| Error::io(&path, e))
    }

    /// Remove temporary files and files that no record references, when no job or process is
    /// writing to the library (otherwise the sweep is skipped and says so). Orphaned originals go
    /// to the trash.
    pub fn sweep(&self) -> Result<SweepReport, Error> {
        let file = self.lock_file()?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Ok(SweepReport {
                    skipped_busy: true,
                    ..SweepReport::default()
                })
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(self.root().join("library.lock"), e)),
        }
        let _exclusive = LibraryLock { _file: file };
        let mut referenced = HashSet::new();
        for (_, sha, ext) in crate::catalogue::films::originals(&self.conn)? {
            referenced.insert(self.original_path(&sha, &ext));
        }
        for (_, std_sha) in crate::catalogue::images::standards(&self.conn)? {
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
                    if !is_temp && top == "originals" {
                        self.move_to_trash(&file)?;
                    } else {
                        fs::remove_file(&file).map_err(|e| Error::io(&file, e))?;
                    }
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

    /// Move an original to the trash (it may be the curator's only copy of that film).
    pub fn move_to_trash(&self, file: &Path) -> Result<(), Error> {
        let trash = self.layout.trash_dir();
        create_private_dir(&trash)?;
        let name = file.file_name().unwrap_or_default();
        let target = trash.join(name);
        match fs::rename(file, &target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(file, e)),
        }
    }

    /// Files in the trash: (path, bytes).
    pub fn trash(&self) -> Result<Vec<(PathBuf, u64)>, Error> {
        let mut out = Vec::new();
        for f in files_under(&self.layout.trash_dir())? {
            let len = fs::metadata(&f).map_err(|e| Error::io(&f, e))?.len();
            out.push((f, len));
        }
        out.sort();
        Ok(out)
    }

    /// Delete everything in the trash for good; returns how many files were removed.
    pub fn empty_trash(&self) -> Result<usize, Error> {
        let files = self.trash()?;
        for (f, _) in &files {
            fs::remove_file(f).map_err(|e| Error::io(f, e))?;
        }
        Ok(files.len())
    }

    /// Verify the database and every record's files, then sweep leftovers.
    pub fn check(&self) -> Result<CheckReport, Error> {
        let integrity: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        let standards = crate::catalogue::images::standards(&self.conn)?;
        let originals = crate::catalogue::films::originals(&self.conn)?;
        let files =
            standards
                .iter()
                .map(|(id, sha)| {
                    (
                        format!("implant {id}: standard image"),
                        self.standard_path(sha),
                        sha,
                    )
                })
                .chain(originals.iter().map(|(id, sha, ext)| {
                    (format!("film {id}: original"), self.original_path(sha, ext), sha)
                }));
        let mut damaged = Vec::new();
        for (what, path, want) in files {
            match fs::read(&path) {
                Ok(bytes) if &sha256_hex(&bytes) == want => {}
                Ok(_) => damaged.push(format!("{what} {} does not match its hash", path.display())),
                Err(e) => damaged.push(format!("{what} {}: {e}", path.display())),
            }
        }
        let swept = self.sweep()?;
        Ok(CheckReport {
            integrity,
            records: standards.len(),
            damaged,
            swept,
        })
    }
}

/// Narrow one of the library's own folders to owner-only (libraries made by older builds were 755).
fn narrow_dir(dir: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        let meta = fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| Error::io(dir, e))?;
        }
    }
    Ok(())
}

/// Narrow an existing file to owner read/write (missing file: nothing to do).
fn make_private_file(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    match fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|e| Error::io(path, e))?;
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    #[cfg(not(unix))]
    let _ = path;
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
