//! Checks on every row read from production before any of its values is used.
//!
//! Why: production is shared and not trusted — a curator's bug, another tool or an attacker with
//! write access to one row must not be able to make a library read, write or delete outside
//! itself, panic, or fill its disk. A row is used only when every field it contributes passes
//! here; hashes become paths and names become file names only after these checks.

use crate::outbox::RowAttributes;
use crate::remote::{HistoryEntry, RemoteRow, HISTORY_TEXT_CAP};
use chrono::{DateTime, Utc};
use raiox_core::catalogue::history::{Kind, PulledEntry};
use raiox_core::catalogue::naming::{parse_standard_name, slug};
use raiox_core::catalogue::settings::check_curator;
use raiox_core::embed::ModelStamp;
use raiox_core::util::is_sha256_hex;

/// Largest standard image accepted from production (a 224×224 grayscale PNG is well under 200 KB).
pub const MAX_OBJECT_BYTES: usize = 4 << 20;
/// Longest manufacturer or system name accepted.
const MAX_LABEL: usize = 120;
/// Largest attributes document accepted (JSON bytes).
const MAX_ATTRIBUTES: usize = 16 << 10;
/// Longest object key accepted.
const MAX_KEY: usize = 512;

/// Why a production row cannot be used, or `Ok` when every field it contributes is sound.
pub fn check_row(row: &RemoteRow, stamp: &ModelStamp) -> Result<(), String> {
    if row.deleted {
        // Only the id and revision of a deleted row are used.
        return Ok(());
    }
    if !is_sha256_hex(&row.content_sha256) {
        return Err(format!(
            "content_sha256 {:?} is not 64 lower-case hex digits",
            clip(&row.content_sha256)
        ));
    }
    for (what, text) in [("manufacturer", &row.manufacturer), ("system", &row.system)] {
        check_label(what, text)?;
    }
    let parts = parse_standard_name(&row.standard_name).ok_or_else(|| {
        format!(
            "standard_name {:?} is not a standard name",
            clip(&row.standard_name)
        )
    })?;
    let key = format!("{}_{}", slug(&row.manufacturer), slug(&row.system));
    if parts.key != key {
        return Err(format!(
            "standard_name {:?} does not belong to {} {}",
            row.standard_name,
            clip(&row.manufacturer),
            clip(&row.system)
        ));
    }
    check_key(&row.object_key)?;
    if row.encoder_id != stamp.encoder_id {
        return Err(format!(
            "vector from encoder {:?}, this library embeds with {}",
            clip(&row.encoder_id),
            stamp.encoder_id
        ));
    }
    match &row.embedding {
        Some(v) if v.len() == stamp.dim && v.iter().all(|x| x.is_finite()) => {}
        Some(v) => {
            return Err(format!(
                "vector of {} values (or not finite); {} expected",
                v.len(),
                stamp.dim
            ))
        }
        None => return Err("no vector".into()),
    }
    let attrs = serde_json::to_string(&row.attributes).map_err(|e| e.to_string())?;
    if attrs.len() > MAX_ATTRIBUTES {
        return Err(format!(
            "attributes of {} bytes (at most {MAX_ATTRIBUTES})",
            attrs.len()
        ));
    }
    let parsed: RowAttributes =
        serde_json::from_value(row.attributes.clone()).map_err(|e| format!("attributes: {e}"))?;
    let a = &parsed.attributes;
    for (what, v) in [("diameter_mm", a.diameter_mm), ("length_mm", a.length_mm)] {
        if v.is_some_and(|x| !(x.is_finite() && x > 0.0 && x < 100.0)) {
            return Err(format!("{what} out of range"));
        }
    }
    if let Some(url) = &row.url {
        if url.len() > 2048 || !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("url {:?} is not an http(s) link", clip(url)));
        }
    }
    Ok(())
}

/// The oldest time a history entry may carry (raiox did not exist before).
const HISTORY_EPOCH: &str = "2020-01-01T00:00:00Z";
/// How far ahead of this machine's clock an entry's time may be (clocks drift).
const CLOCK_SKEW_MINUTES: i64 = 10;

/// A production label-history entry as the library stores it, or why it cannot be: text within
/// [`HISTORY_TEXT_CAP`] characters (cut in the query, so only the length arrives of a longer
/// one), a plain curator name, a known kind, from/to values that are JSON without control
/// characters, and a time between 2020 and a few minutes from `now`.
pub fn check_history(e: &HistoryEntry, now: DateTime<Utc>) -> Result<PulledEntry, String> {
    if e.longest > HISTORY_TEXT_CAP {
        return Err(format!(
            "history entry text of {} characters (at most {HISTORY_TEXT_CAP})",
            e.longest
        ));
    }
    let curator = check_curator(&e.curator).map_err(|err| format!("{err} ({:?})", clip(&e.curator)))?;
    let kind = Kind::parse(&e.kind).ok_or_else(|| format!("unknown history kind {:?}", clip(&e.kind)))?;
    let epoch = DateTime::parse_from_rfc3339(HISTORY_EPOCH).map_err(|err| err.to_string())?;
    if e.at < epoch || e.at > now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) {
        return Err(format!(
            "history entry time {} is not plausible",
            e.at.to_rfc3339()
        ));
    }
    for (what, value) in [("from", &e.from), ("to", &e.to)] {
        if let Some(v) = value {
            if v.chars().any(char::is_control) {
                return Err(format!("history {what} value has control characters"));
            }
            if serde_json::from_str::<serde_json::Value>(v).is_err() {
                return Err(format!("history {what} value {:?} is not JSON", clip(v)));
            }
        }
    }
    Ok(PulledEntry {
        entry_id: e.entry_id.to_string(),
        at: e.at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        curator,
        kind,
        from: e.from.clone(),
        to: e.to.clone(),
    })
}

/// A manufacturer or system name: printable, bounded, with letters or digits.
fn check_label(what: &str, text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_LABEL {
        return Err(format!("{what} name longer than {MAX_LABEL} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{what} name {:?} has control characters", clip(text)));
    }
    if !text.chars().any(char::is_alphanumeric) {
        return Err(format!("{what} name {:?} has no letters or digits", clip(text)));
    }
    Ok(())
}

/// An object key: under `implants/`, plain path segments only.
fn check_key(key: &str) -> Result<(), String> {
    let plain = key.len() <= MAX_KEY
        && key.starts_with("implants/")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if plain {
        Ok(())
    } else {
        Err(format!("object_key {:?} is not a key under implants/", clip(key)))
    }
}

/// At most 80 characters of an untrusted value, for messages.
fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> ModelStamp {
        ModelStamp {
            encoder_id: "enc".into(),
            weights_sha256: "w".into(),
            preprocess_version: 1,
            dim: 3,
        }
    }

    fn good() -> RemoteRow {
        RemoteRow {
            id: uuid::Uuid::nil(),
            content_sha256: "ab".repeat(32),
            standard_name: "straumann_blt_0001.png".into(),
            manufacturer: "Straumann".into(),
            system: "BLT".into(),
            attributes: serde_json::json!({"status": "labelled"}),
            object_key: format!("implants/ab/{}.png", "ab".repeat(32)),
            url: None,
            encoder_id: "enc".into(),
            revision: 1,
            deleted: false,
            embedding: Some(vec![0.1, 0.2, 0.3]),
        }
    }

    #[test]
    fn hostile_history_entries_are_refused_with_the_reason() {
        let now = Utc::now();
        let good = HistoryEntry {
            implant_id: uuid::Uuid::nil(),
            entry_id: uuid::Uuid::nil(),
            seq: 1,
            at: now - chrono::Duration::hours(1),
            curator: "Ana".into(),
            kind: "label".into(),
            from: Some(r#"{"status":"unlabelled"}"#.into()),
            to: None,
            longest: 30,
        };
        let ok = check_history(&good, now).unwrap();
        assert_eq!((ok.curator.as_str(), ok.kind), ("Ana", Kind::Label));
        assert!(ok.at.ends_with('Z') && ok.at.len() == 24, "{}", ok.at);
        type Breaker = Box<dyn Fn(&mut HistoryEntry)>;
        let cases: Vec<(Breaker, &str)> = vec![
            (Box::new(|e| e.longest = 10 << 20), "at most"),
            (Box::new(|e| e.curator = "a\u{1b}[2Jb".into()), "control"),
            (Box::new(|e| e.curator = " ".into()), "empty"),
            (Box::new(|e| e.curator = "x".repeat(65)), "longer"),
            (Box::new(|e| e.kind = "rm -rf".into()), "unknown history kind"),
            (
                Box::new(|e| e.at = Utc::now() + chrono::Duration::days(400)),
                "plausible",
            ),
            (Box::new(|e| e.at = DateTime::UNIX_EPOCH), "plausible"),
            (Box::new(|e| e.to = Some("{\"a\":\"\u{7}\"}".into())), "control"),
            (Box::new(|e| e.from = Some("not json".into())), "not JSON"),
        ];
        for (break_it, expect) in cases {
            let mut e = good.clone();
            break_it(&mut e);
            let err = check_history(&e, now).unwrap_err();
            assert!(err.contains(expect), "{err} should mention {expect}");
        }
    }

    #[test]
    fn a_sound_row_passes_and_each_hostile_field_is_named() {
        assert_eq!(check_row(&good(), &stamp()), Ok(()));
        type Breaker = Box<dyn Fn(&mut RemoteRow)>;
        let cases: Vec<(Breaker, &str)> = vec![
            (Box::new(|r| r.content_sha256 = "a".into()), "content_sha256"),
            (
                Box::new(|r| r.content_sha256 = "../../victim/important".into()),
                "content_sha256",
            ),
            (
                Box::new(|r| r.standard_name = "../../x_y_0001.png".into()),
                "standard_name",
            ),
            (
                Box::new(|r| r.standard_name = "/etc/x_y_0001.png".into()),
                "standard_name",
            ),
            (
                Box::new(|r| r.standard_name = "nobel_active_0001.png".into()),
                "does not belong",
            ),
            (Box::new(|r| r.manufacturer = "---".into()), "manufacturer"),
            (Box::new(|r| r.system = "a\u{0}b".into()), "system"),
            (Box::new(|r| r.object_key = "../outside.png".into()), "object_key"),
            (
                Box::new(|r| r.object_key = "implants/../../x".into()),
                "object_key",
            ),
            (
                Box::new(|r| r.embedding = Some(vec![f32::NAN, 0.0, 0.0])),
                "vector",
            ),
            (Box::new(|r| r.embedding = Some(vec![0.0; 4])), "vector"),
            (Box::new(|r| r.encoder_id = "other".into()), "encoder"),
            (
                Box::new(|r| r.attributes = serde_json::json!({"status": 5})),
                "attributes",
            ),
            (
                Box::new(|r| {
                    r.attributes = serde_json::json!({"status": "labelled", "notes": "x".repeat(20000)})
                }),
                "attributes",
            ),
        ];
        for (break_it, expect) in cases {
            let mut row = good();
            break_it(&mut row);
            let err = check_row(&row, &stamp()).unwrap_err();
            assert!(err.contains(expect), "{err} should mention {expect}");
        }
        let mut deleted = good();
        deleted.deleted = true;
        deleted.content_sha256 = "junk".into();
        assert_eq!(check_row(&deleted, &stamp()), Ok(()));
    }
}
