//! Library settings: small named values kept in the catalogue (active encoder, cached calibration,
//! the sync watermark, the curator's name).
//!
//! Why a table and not a file: settings change together with the rows they describe (the active
//! encoder with its vectors, the watermark with the pulled rows), so they commit in one transaction.

use rusqlite::{Connection, OptionalExtension};

use crate::Error;

/// The encoder whose vectors the library searches (queries must use the same one).
pub const ACTIVE_ENCODER: &str = "encoder";

/// Who is curating this library: every change in the label history carries it (the catalogue's
/// history triggers read it from here).
pub const CURATOR: &str = "curator";

/// Longest curator name accepted (characters).
pub const MAX_CURATOR: usize = 64;

/// A library setting.
pub fn get(conn: &Connection, key: &str) -> Result<Option<String>, Error> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Store a library setting.
pub fn set(conn: &Connection, key: &str, value: &str) -> Result<(), Error> {
    conn.execute(
        "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
        [key, value],
    )?;
    Ok(())
}

/// A curator name as it is stored: trimmed, 1 to [`MAX_CURATOR`] characters, no control
/// characters. Why this strict: the name is shown in every front and travels to production, where
/// other curators' libraries read it; a name is a label for people, never a place for a secret.
pub fn check_curator(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid("curator name: empty".into()));
    }
    if name.chars().count() > MAX_CURATOR {
        return Err(Error::Invalid(format!(
            "curator name: longer than {MAX_CURATOR} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "curator name: has control characters (tabs, line breaks, escapes)".into(),
        ));
    }
    Ok(name.to_string())
}

/// The curator recorded with this library's changes: the setting, else the OS user name.
pub fn curator(conn: &Connection) -> Result<String, Error> {
    match get(conn, CURATOR)? {
        Some(name) => Ok(name),
        None => Ok(os_user()),
    }
}

/// Set the curator name (checked by [`check_curator`]); returns the name as stored.
pub fn set_curator(conn: &Connection, name: &str) -> Result<String, Error> {
    let name = check_curator(name)?;
    set(conn, CURATOR, &name)?;
    Ok(name)
}

/// Store the OS user name as the curator when none is set, so the history triggers (which only
/// see the database) attribute changes to someone from the first one on.
pub(crate) fn ensure_curator(conn: &Connection) -> Result<(), Error> {
    conn.execute(
        "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
        [CURATOR, &os_user()],
    )?;
    Ok(())
}

/// `USER` (Unix) or `USERNAME` (Windows) when it is a valid curator name, else "unknown".
fn os_user() -> String {
    ["USER", "USERNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find_map(|v| check_curator(&v).ok())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curator_names_are_plain_and_bounded() {
        assert_eq!(check_curator("  Dr. Ana Souza ").unwrap(), "Dr. Ana Souza");
        assert_eq!(check_curator(&"é".repeat(64)).unwrap(), "é".repeat(64));
        for bad in ["", "   ", "a\nb", "a\u{1b}[31mb", "tab\there", &"x".repeat(65)] {
            let err = check_curator(bad).unwrap_err().to_string();
            assert!(err.starts_with("curator name:"), "{bad:?}: {err}");
        }
    }
}
