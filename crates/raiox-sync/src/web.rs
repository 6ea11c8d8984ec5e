//! Downloading images from the web for an import: bounded, retried, capped and sniffed.
//!
//! Why here: the core's import job has no network dependency; it takes a
//! [`raiox_core::ingest::web::Downloader`], and this is the HTTP one the fronts give it. A download
//! must never hang the job, fill the disk, follow redirects forever or hand an HTML error page to
//! the decoders, and a flaky server must not cost the whole batch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use raiox_core::ingest::web::{display_url, sniff, Download, Downloader, Sniffed, WebOptions, SNIFF_LEN};
use raiox_core::progress::JobControl;

/// The HTTP downloader (reqwest on a private runtime).
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpDownloader;

impl Downloader for HttpDownloader {
    fn download_all(
        &self,
        items: Vec<(usize, String)>,
        opts: &WebOptions,
        ctl: &JobControl,
        closed: &AtomicBool,
        tx: SyncSender<(usize, Download)>,
    ) {
        download_all(items, opts, ctl, closed, tx)
    }
}

/// Why a download failed, and whether trying again may help.
#[derive(Debug)]
struct Failure {
    reason: String,
    transient: bool,
}

impl Failure {
    fn fatal(reason: impl Into<String>) -> Self {
        Failure {
            reason: reason.into(),
            transient: false,
        }
    }
    fn transient(reason: impl Into<String>) -> Self {
        Failure {
            reason: reason.into(),
            transient: true,
        }
    }
}

/// Download `items` with bounded concurrency on a private runtime, sending each result (in the
/// order they finish, tagged with the item's index) to `tx`. Stops early when `ctl` is cancelled or
/// `closed` is set (the importer stopped): downloads in flight are abandoned, nothing more is sent.
fn download_all(
    items: Vec<(usize, String)>,
    opts: &WebOptions,
    ctl: &JobControl,
    closed: &AtomicBool,
    tx: SyncSender<(usize, Download)>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            for (i, _) in items {
                let _ = tx.send((i, Err(format!("could not start the downloader: {e}"))));
            }
            return;
        }
    };
    let client = match client(opts) {
        Ok(c) => c,
        Err(e) => {
            for (i, _) in items {
                let _ = tx.send((i, Err(e.clone())));
            }
            return;
        }
    };
    runtime.block_on(async {
        use futures_util::StreamExt;
        let cancelled = async {
            while !ctl.is_cancelled() && !closed.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let work = futures_util::stream::iter(items)
            .map(|(i, url)| {
                let client = client.clone();
                async move { (i, fetch(&client, &url, opts).await) }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .for_each(|result| {
                let tx = tx.clone();
                async move {
                    // The importer may wait on this channel: hand over off the runtime's workers.
                    let _ = tokio::task::spawn_blocking(move || tx.send(result)).await;
                }
            });
        tokio::select! {
            _ = work => {}
            _ = cancelled => {}
        }
    });
    runtime.shutdown_background();
}

fn client(opts: &WebOptions) -> Result<reqwest::Client, String> {
    let max = opts.max_redirects;
    reqwest::Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().contains(attempt.url()) {
                let back_to = display_url(attempt.url().as_str());
                attempt.error(format!("a redirect loop (back to {back_to})"))
            } else if attempt.previous().len() > max {
                attempt.error(format!("too many redirects (more than {max})"))
            } else {
                attempt.follow()
            }
        }))
        .user_agent(concat!("raiox/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("could not start the HTTP client: {e}"))
}

/// Download one URL, retrying transient failures with exponential backoff.
async fn fetch(client: &reqwest::Client, url: &str, opts: &WebOptions) -> Download {
    let attempts = opts.attempts.max(1);
    let mut pause = opts.backoff;
    let mut attempt = 1;
    loop {
        match fetch_once(client, url, opts).await {
            Ok(body) => return Ok(body),
            Err(f) if f.transient && attempt < attempts => {
                tracing::info!(
                    "{}: {} (attempt {attempt} of {attempts})",
                    display_url(url),
                    f.reason
                );
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
                attempt += 1;
            }
            Err(f) if f.transient && attempts > 1 => {
                return Err(format!("{} (after {attempts} attempts)", f.reason))
            }
            Err(f) => return Err(f.reason),
        }
    }
}

async fn fetch_once(client: &reqwest::Client, url: &str, opts: &WebOptions) -> Result<Vec<u8>, Failure> {
    let secs = opts.timeout.as_secs_f64();
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| request_failure(&e, secs))?;
    let status = response.status();
    if !status.is_success() {
        let reason = format!(
            "HTTP {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .trim_end()
        .to_string();
        return Err(if status.is_server_error() || status.as_u16() == 429 {
            Failure::transient(reason)
        } else {
            Failure::fatal(reason)
        });
    }
    let cap = opts.max_bytes;
    let too_big = || Failure::fatal(format!("larger than the {} download cap", size_text(cap)));
    if response.content_length().is_some_and(|n| n > cap) {
        return Err(too_big());
    }
    let mut body: Vec<u8> = Vec::new();
    let mut sniffed = false;
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| body_failure(&e, secs, body.len()))?;
        let Some(chunk) = chunk else { break };
        if body.len() as u64 + chunk.len() as u64 > cap {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
        if !sniffed && body.len() >= SNIFF_LEN {
            sniffed = true;
            check_sniff(&body)?;
        }
    }
    check_sniff(&body)?;
    if body.is_empty() {
        return Err(Failure::fatal("the server sent an empty body"));
    }
    Ok(body)
}

fn check_sniff(body: &[u8]) -> Result<(), Failure> {
    match sniff(&body[..body.len().min(SNIFF_LEN)]) {
        Sniffed::Html => Err(Failure::fatal("an HTML page, not an image")),
        _ => Ok(()),
    }
}

fn request_failure(e: &reqwest::Error, secs: f64) -> Failure {
    if e.is_timeout() {
        Failure::transient(format!("timed out after {secs} s"))
    } else if e.is_redirect() {
        Failure::fatal(innermost(e))
    } else if e.is_builder() {
        Failure::fatal(format!("not a usable URL: {}", innermost(e)))
    } else if e.is_connect() {
        Failure::transient(format!("could not connect: {}", innermost(e)))
    } else {
        Failure::transient(format!("request failed: {}", innermost(e)))
    }
}

fn body_failure(e: &reqwest::Error, secs: f64, got: usize) -> Failure {
    if e.is_timeout() {
        Failure::transient(format!("timed out after {secs} s"))
    } else {
        Failure::transient(format!(
            "the connection was dropped mid-download (after {got} bytes: {})",
            innermost(e)
        ))
    }
}

/// The most specific message of an error chain (reqwest wraps hyper wraps io).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes}-byte")
    }
}
