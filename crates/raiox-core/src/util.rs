//! Small helpers every layer may use: content hashes and crash-safe file writes.
//!
//! Why here: hashing and atomic writes are needed by the pure steps (model weights are identified by
//! their hash) as well as by storage and sync; keeping them at the bottom avoids upward imports.

use std::fs;
use std::io::Write;
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Error;

/// Whether `s` is a SHA-256 as the library writes it: 64 lower-case hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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
    if path.exists() {
        return Ok(());
    }
    replace_atomic(path, bytes)
}

/// Write `bytes` to `path` atomically (temporary file, fsync, rename), replacing what is there:
/// readers see the old file or the new one, never half a file.
pub fn replace_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let Some(dir) = path.parent() else {
        return Err(Error::Invalid(format!("{}: not a file path", path.display())));
    };
    create_private_dir(dir)?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(
        "{}.{}-{n}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let mut f = opts.open(&tmp)?;
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

/// Create a folder (and its parents) readable by the owner only.
pub fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    b.mode(0o700);
    b.create(dir).map_err(|e| Error::io(dir, e))
}

/// Parse one of a small enum's names (the spelling `name` gives); the error lists the choices.
///
/// Why here: the core's enums are chosen on the command line and in files without the core
/// depending on a CLI crate.
pub fn parse_choice<T: Copy>(text: &str, all: &[T], name: impl Fn(T) -> &'static str) -> Result<T, String> {
    all.iter().copied().find(|v| name(*v) == text).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
        format!("'{text}' is not one of: {}", names.join(", "))
    })
}
