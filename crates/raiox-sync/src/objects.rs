//! The object store: standardised PNGs in DigitalOcean Spaces or any S3 API, through rust-s3.
//!
//! Why a wrapper: sync needs exactly four verbs (put, get, delete, check) with the same retry policy
//! and with errors turned into short, secret-free sentences that say what to fix (DNS, TLS, auth,
//! missing bucket), not a dump of an HTTP client's internals.

use std::time::Duration;

use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};

use crate::config::SpacesConfig;
use raiox_core::Error;

/// One configured bucket.
pub struct ObjectStore {
    bucket: Box<Bucket>,
    public_base: Option<String>,
}

/// An object-store failure, classified so callers can retry the transient ones.
#[derive(Debug, Clone)]
pub struct StoreError {
    /// Worth trying again (network, timeout, 5xx, throttling).
    pub transient: bool,
    /// What happened, secret-free.
    pub message: String,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Region name for an endpoint: the first label of a DigitalOcean Spaces host, else `us-east-1`.
fn region_for(cfg: &SpacesConfig, host: &str) -> String {
    if !cfg.region.trim().is_empty() {
        return cfg.region.trim().to_string();
    }
    match host.strip_suffix(".digitaloceanspaces.com") {
        Some(r) if !r.contains('.') => r.to_string(),
        _ => "us-east-1".to_string(),
    }
}

/// Whether the host is this machine (path-style and plain HTTP are normal there).
pub fn is_local_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.starts_with('/') || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl ObjectStore {
    /// A client for the configured bucket; nothing is sent until the first request.
    pub fn new(cfg: &SpacesConfig, timeout: Duration) -> Result<ObjectStore, Error> {
        let endpoint = cfg.endpoint.trim().trim_end_matches('/').to_string();
        let url = url::Url::parse(&endpoint)
            .map_err(|e| Error::Invalid(format!("SPACES_ENDPOINT {endpoint:?} is not a URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| Error::Invalid(format!("SPACES_ENDPOINT {endpoint:?} has no host")))?
            .to_string();
        if url.scheme() != "https" && !is_local_host(&host) {
            return Err(Error::Invalid(format!(
                "SPACES_ENDPOINT {endpoint:?} is not https: the access key's signatures and every image would \
                 cross the network unencrypted; use https:// (plain http is accepted for this machine only)"
            )));
        }
        let path_style = cfg.path_style.unwrap_or_else(|| {
            is_local_host(&host) || url::Host::parse(&host).is_ok_and(|h| !matches!(h, url::Host::Domain(_)))
        });
        let region = Region::Custom {
            region: region_for(cfg, &host),
            endpoint: endpoint.clone(),
        };
        let creds = Credentials::new(
            Some(cfg.access_key.expose()),
            Some(cfg.secret_key.expose()),
            None,
            None,
            None,
        )
        .map_err(|e| Error::Invalid(format!("Spaces credentials: {e}")))?;
        let mut bucket = Bucket::new(cfg.bucket.trim(), region, creds)
            .map_err(|e| Error::Invalid(format!("bucket {:?}: {e}", cfg.bucket)))?;
        if path_style {
            bucket = bucket.with_path_style();
        }
        bucket.set_request_timeout(Some(timeout));
        // Our own retry loop decides; rust-s3's hidden retries would double the wait on a dead server.
        s3::set_retries(0);
        let public_base = cfg.public_read.then(|| {
            if path_style {
                format!("{endpoint}/{}", cfg.bucket.trim())
            } else {
                format!("{}://{}.{}", url.scheme(), cfg.bucket.trim(), url.authority())
            }
        });
        Ok(ObjectStore { bucket, public_base })
    }

    /// The public URL of a key, when objects are uploaded public-read.
    pub fn public_url(&self, key: &str) -> Option<String> {
        self.public_base.as_ref().map(|b| format!("{b}/{key}"))
    }

    /// Upload a PNG (idempotent: the same key and bytes twice leave one object).
    pub async fn put_png(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let headers = if self.public_base.is_some() {
            let mut h = http::HeaderMap::new();
            h.insert("x-amz-acl", http::HeaderValue::from_static("public-read"));
            Some(h)
        } else {
            None
        };
        self.bucket
            .put_object_with_content_type_and_headers(key, bytes, "image/png", headers)
            .await
            .map(|_| ())
            .map_err(|e| classify(e, &format!("upload {key}")))
    }

    /// Download an object's bytes, refusing (not transient) one larger than `cap` bytes before it
    /// is read whole: production is not trusted.
    pub async fn get(&self, key: &str, cap: usize) -> Result<Vec<u8>, StoreError> {
        use futures_util::StreamExt;
        let what = format!("download {key}");
        let mut stream = self
            .bucket
            .get_object_stream(key)
            .await
            .map_err(|e| classify(e, &what))?;
        let mut out = Vec::new();
        while let Some(chunk) = stream.bytes().next().await {
            let chunk = chunk.map_err(|e| classify(e, &what))?;
            if out.len() + chunk.len() > cap {
                return Err(StoreError {
                    transient: false,
                    message: format!("{what}: larger than {cap} bytes, refused"),
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Delete an object; a key that is already gone is success.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.bucket.delete_object(key).await {
            Ok(_) => Ok(()),
            Err(S3Error::HttpFailWithBody(404, _)) => Ok(()),
            Err(e) => Err(classify(e, &format!("delete {key}"))),
        }
    }

    /// A time-limited link to a private object.
    pub async fn presign(&self, key: &str, secs: u32) -> Result<String, StoreError> {
        self.bucket
            .presign_get(key, secs, None)
            .await
            .map_err(|e| classify(e, &format!("presign {key}")))
    }

    /// Reach the bucket with the credentials: lists at most one key.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.bucket
            .list_page("implants/".to_string(), None, None, None, Some(1))
            .await
            .map(|_| ())
            .map_err(|e| classify(e, &format!("bucket {:?}", self.bucket.name)))
    }
}

/// A short message for an S3 failure, saying which fix it needs; never echoes request headers.
fn classify(e: S3Error, what: &str) -> StoreError {
    let (transient, why) = match &e {
        S3Error::HttpFailWithBody(code, body) => {
            let s3_code = body
                .split("<Code>")
                .nth(1)
                .and_then(|r| r.split("</Code>").next())
                .unwrap_or("")
                .to_string();
            let why = match (*code, s3_code.as_str()) {
                (404, "NoSuchBucket") => "the bucket does not exist (check SPACES_BUCKET)".to_string(),
                (403, c) | (401, c) => format!(
                    "access denied{} (check SPACES_ACCESS_KEY / SPACES_SECRET_KEY)",
                    if c.is_empty() {
                        String::new()
                    } else {
                        format!(": {c}")
                    }
                ),
                (c, s) => format!(
                    "HTTP {c}{}",
                    if s.is_empty() {
                        String::new()
                    } else {
                        format!(" {s}")
                    }
                ),
            };
            (*code >= 500 || *code == 429 || *code == 408, why)
        }
        S3Error::Reqwest(r) => (true, describe_reqwest(r)),
        S3Error::Io(io) => (true, format!("I/O: {io}")),
        other => (false, other.to_string()),
    };
    StoreError {
        transient,
        message: format!("{what}: {why}"),
    }
}

/// Tell DNS, connection, TLS and timeout failures apart from reqwest's error chain.
fn describe_reqwest(r: &reqwest::Error) -> String {
    let mut chain = String::new();
    let mut src: Option<&dyn std::error::Error> = Some(r);
    while let Some(e) = src {
        chain.push_str(&e.to_string());
        chain.push_str(": ");
        src = e.source();
    }
    let lower = chain.to_lowercase();
    if r.is_timeout() || lower.contains("timed out") {
        "the request timed out".to_string()
    } else if lower.contains("dns") || lower.contains("failed to lookup") || lower.contains("name or service")
    {
        "the endpoint's host name does not resolve (DNS; check SPACES_ENDPOINT)".to_string()
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        format!("TLS failed ({})", last_cause(r))
    } else if r.is_connect() {
        format!("cannot connect to the endpoint ({})", last_cause(r))
    } else {
        last_cause(r)
    }
}

/// The innermost cause's text (reqwest's outer layers repeat the URL).
fn last_cause(r: &reqwest::Error) -> String {
    let mut e: &dyn std::error::Error = r;
    while let Some(s) = e.source() {
        e = s;
    }
    e.to_string()
}
