//! Images from the web: URL lists, download limits, content sniffing, the downloader interface.
//!
//! Why: the library's seed comes partly from published radiographs. A download must never hang the
//! job, fill the disk, follow redirects forever or hand an HTML error page to the decoders, and a
//! flaky server must not cost the whole batch. What comes back is only bytes plus the URL as local
//! provenance; the import job then treats them exactly like a file's bytes.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use crate::ingest::labels::RawLabel;
use crate::progress::JobControl;
use crate::Error;

/// Download limits and politeness.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Whole-request limit (connect, headers and body) per attempt.
    pub timeout: Duration,
    /// Largest body accepted; a larger download is aborted.
    pub max_bytes: u64,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Attempts per URL for transient failures (5xx, timeouts, dropped connections).
    pub attempts: u32,
    /// First pause between attempts; doubled each time.
    pub backoff: Duration,
    /// Downloads in flight at once.
    pub concurrency: usize,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            timeout: Duration::from_secs(60),
            max_bytes: 64 * 1024 * 1024,
            max_redirects: 5,
            attempts: 3,
            backoff: Duration::from_millis(500),
            concurrency: 4,
        }
    }
}

/// One URL to import, with the label its list gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlItem {
    /// The URL as written.
    pub url: String,
    /// `url,manufacturer,system` in a list.
    pub label: Option<RawLabel>,
}

/// Whether a command-line input is a URL rather than a path.
pub fn is_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The URL as kept for provenance and shown in reports: user name and password removed, since a
/// credential in a URL must never be stored or printed.
pub fn display_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Read a URL list: one URL per line, optionally `url,manufacturer,system` (or `url,system`); blank
/// lines, `#` comments and a `url,...` header are skipped.
pub fn read_url_list(path: &Path) -> Result<Vec<UrlItem>, Error> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| Error::Invalid(format!("{} line {}: {e}", path.display(), i + 1)))?;
        let fields: Vec<&str> = row.iter().collect();
        let Some(url) = fields.first().copied().filter(|u| !u.is_empty()) else {
            continue;
        };
        if i == 0 && url.eq_ignore_ascii_case("url") {
            continue;
        }
        if !is_url(url) {
            return Err(Error::Invalid(format!(
                "{} line {}: '{}' is not an http(s) URL",
                path.display(),
                row.position().map_or(i as u64 + 1, |p| p.line()),
                display_url(url)
            )));
        }
        let label = match fields.as_slice() {
            [_, m, s, ..] if !s.is_empty() => Some(RawLabel {
                manufacturer: (!m.is_empty()).then(|| m.to_string()),
                system: s.to_string(),
            }),
            [_, s] if !s.is_empty() => Some(RawLabel {
                manufacturer: None,
                system: s.to_string(),
            }),
            _ => None,
        };
        out.push(UrlItem {
            url: url.to_string(),
            label,
        });
    }
    Ok(out)
}

/// What the first bytes of a body say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A format the decoders read (PNG, JPEG, TIFF, BMP, WebP, GIF, DICOM).
    Image,
    /// An HTML page (an error page, a login wall, an image viewer page).
    Html,
    /// Something else; the decoders decide.
    Unknown,
}

/// Bytes needed before [`sniff`] can answer (DICOM's magic sits after a 128-byte preamble).
pub const SNIFF_LEN: usize = 132;

/// Recognise the body from its first bytes, whatever the server's Content-Type says.
pub fn sniff(head: &[u8]) -> Sniffed {
    const MAGIC: &[&[u8]] = &[
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff",
        b"II*\0",
        b"MM\0*",
        b"BM",
        b"GIF87a",
        b"GIF89a",
    ];
    if MAGIC.iter().any(|m| head.starts_with(m))
        || (head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP")
        || head.get(128..132) == Some(b"DICM")
    {
        return Sniffed::Image;
    }
    let text: String = String::from_utf8_lossy(head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head))
        .trim_start()
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    if text.starts_with("<!doctype") || text.starts_with("<html") || text.starts_with("<head") {
        Sniffed::Html
    } else {
        Sniffed::Unknown
    }
}

/// A finished download: the body, or why there is none.
pub type Download = Result<Vec<u8>, String>;

/// Fetches the URLs of an import.
///
/// Why a trait: the core has no network dependency; the `raiox-sync` crate supplies the HTTP
/// downloader and the fronts hand it to the import job in its `ImportOptions`.
pub trait Downloader: Send + Sync {
    /// Download `items` with at most `opts.concurrency` in flight, sending each result (in the
    /// order they finish, tagged with the item's index) to `tx`. Stops early when `ctl` is
    /// cancelled or `closed` is set (the importer stopped): nothing more is sent.
    fn download_all(
        &self,
        items: Vec<(usize, String)>,
        opts: &WebOptions,
        ctl: &JobControl,
        closed: &AtomicBool,
        tx: SyncSender<(usize, Download)>,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_tells_images_from_html() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Sniffed::Image);
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Sniffed::Image);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Sniffed::Image);
        assert_eq!(sniff(b"  <!DOCTYPE html><html>"), Sniffed::Html);
        assert_eq!(sniff(b"\xef\xbb\xbf<html lang=en>"), Sniffed::Html);
        assert_eq!(sniff(b"hello"), Sniffed::Unknown);
        let mut dicom = vec![0u8; 128];
        dicom.extend_from_slice(b"DICM");
        assert_eq!(sniff(&dicom), Sniffed::Image);
    }

    #[test]
    fn credentials_never_reach_provenance() {
        assert_eq!(
            display_url("https://ana:s3cret@example.org/a.png"),
            "https://example.org/a.png"
        );
        assert_eq!(
            display_url("https://example.org/a.png?x=1"),
            "https://example.org/a.png?x=1"
        );
        assert!(is_url("HTTPS://example.org/x.png"));
        assert!(!is_url("films/x.png"));
    }

    #[test]
    fn url_lists_take_optional_labels() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("list.txt");
        std::fs::write(
            &list,
            "url,manufacturer,system\n# seed\nhttps://a.org/1.png\n\nhttps://a.org/2.png,Straumann,BLT\nhttps://a.org/3.png,,T3\n",
        )
        .unwrap();
        let items = read_url_list(&list).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].label, None);
        assert_eq!(
            items[1].label.as_ref().unwrap().manufacturer.as_deref(),
            Some("Straumann")
        );
        assert_eq!(items[2].label.as_ref().unwrap().manufacturer, None);
        std::fs::write(&list, "films/a.png\n").unwrap();
        let err = read_url_list(&list).unwrap_err().to_string();
        assert!(err.contains("not an http(s) URL"), "{err}");
    }
}
