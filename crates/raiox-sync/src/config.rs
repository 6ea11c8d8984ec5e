//! Where production is: Spaces (S3) and PostgreSQL settings, from the environment or a config file.
//!
//! Why both: the seed pipeline was driven by environment variables (`SPACES_*`, `DATABASE_URL`), which
//! scripts and CI keep using; a curator at a desktop sets them once in a dialog, saved to a TOML file
//! that only its owner can read. Secrets are wrapped in [`Secret`], whose `Debug`/`Display` never show
//! the value, so they cannot reach logs, error messages or `--json` output by accident.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use raiox_core::Error;

/// A credential: serialised as-is into the owner-only config file, shown as `****` everywhere else.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it (signing, connecting).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether a value is set.
    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"****\"" })
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "" } else { "****" })
    }
}

/// The object store (DigitalOcean Spaces or any S3 API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpacesConfig {
    /// `https://fra1.digitaloceanspaces.com`, `http://127.0.0.1:9000`, ...
    pub endpoint: String,
    /// Bucket (a Space).
    pub bucket: String,
    /// Region; derived from a DigitalOcean endpoint, else `us-east-1`, when empty.
    pub region: String,
    /// Access key id.
    pub access_key: Secret,
    /// Secret key.
    pub secret_key: Secret,
    /// Path-style addressing (`endpoint/bucket/key`); local servers need it. Default: on for IP and
    /// `localhost` endpoints, off otherwise.
    pub path_style: Option<bool>,
    /// Upload objects world-readable (`x-amz-acl: public-read`) and store their public URL, as the
    /// seed pipeline did. Default: private, with presigned links on demand.
    pub public_read: bool,
}

/// The production database (PostgreSQL with pgvector).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `postgres://user:password@host:5432/db?sslmode=require`; the password makes the whole URL secret.
    pub url: Secret,
}

/// Everything sync needs to know about production.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemoteConfig {
    /// Object store.
    pub spaces: SpacesConfig,
    /// Database.
    pub database: DatabaseConfig,
}

/// The environment variables of the seed pipeline, in the order they override the file.
pub const ENV_VARS: [&str; 5] = [
    "SPACES_ACCESS_KEY",
    "SPACES_SECRET_KEY",
    "SPACES_ENDPOINT",
    "SPACES_BUCKET",
    "DATABASE_URL",
];

impl RemoteConfig {
    /// The default config file: `$RAIOX_CONFIG`, else `<platform config dir>/raiox/remote.toml`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("RAIOX_CONFIG") {
            return Some(PathBuf::from(p));
        }
        directories::ProjectDirs::from("", "", "raiox").map(|d| d.config_dir().join("remote.toml"))
    }

    /// The file's settings (if it exists), overridden by any of the environment variables set.
    pub fn load() -> Result<RemoteConfig, Error> {
        let mut cfg = match Self::default_path() {
            Some(p) if p.is_file() => Self::read(&p)?,
            _ => RemoteConfig::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok());
        Ok(cfg)
    }

    /// Parse a config file.
    pub fn read(path: &Path) -> Result<RemoteConfig, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        // toml's messages quote the offending line, which may hold a secret: keep only the position.
        toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(" at byte {}", s.start))
                .unwrap_or_default();
            Error::Invalid(format!("{}: not a valid config file{at}", path.display()))
        })
    }

    /// Override fields from environment variables (`get` is `std::env::var` outside tests).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        let set = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        if let Some(v) = set(get("SPACES_ACCESS_KEY")) {
            self.spaces.access_key = Secret::new(v);
        }
        if let Some(v) = set(get("SPACES_SECRET_KEY")) {
            self.spaces.secret_key = Secret::new(v);
        }
        if let Some(v) = set(get("SPACES_ENDPOINT")) {
            self.spaces.endpoint = v;
        }
        if let Some(v) = set(get("SPACES_BUCKET")) {
            self.spaces.bucket = v;
        }
        if let Some(v) = set(get("SPACES_REGION")) {
            self.spaces.region = v;
        }
        if let Some(v) = set(get("SPACES_PATH_STYLE")) {
            self.spaces.path_style = Some(matches!(v.as_str(), "1" | "true" | "yes" | "on"));
        }
        if let Some(v) = set(get("SPACES_PUBLIC_READ")) {
            self.spaces.public_read = matches!(v.as_str(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = set(get("DATABASE_URL")) {
            self.database.url = Secret::new(v);
        }
    }

    /// Write the file atomically, readable and writable by its owner only (0600 on Unix).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let text = toml::to_string(self).map_err(|e| Error::Invalid(format!("config: {e}")))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let tmp = path.with_extension("toml.tmp");
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(|e| Error::io(&tmp, e))?;
            f.write_all(text.as_bytes()).map_err(|e| Error::io(&tmp, e))?;
            f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    /// What is missing before sync can run, as names of the settings (empty when complete).
    pub fn missing(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.spaces.endpoint.trim().is_empty() {
            out.push("SPACES_ENDPOINT");
        }
        if self.spaces.bucket.trim().is_empty() {
            out.push("SPACES_BUCKET");
        }
        if !self.spaces.access_key.is_set() {
            out.push("SPACES_ACCESS_KEY");
        }
        if !self.spaces.secret_key.is_set() {
            out.push("SPACES_SECRET_KEY");
        }
        if !self.database.url.is_set() {
            out.push("DATABASE_URL");
        }
        out
    }

    /// Every secret value, for scrubbing third-party error texts before they are shown.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = [
            &self.spaces.access_key,
            &self.spaces.secret_key,
            &self.database.url,
        ]
        .into_iter()
        .filter(|s| s.is_set())
        .map(|s| s.expose().to_string())
        .collect();
        if let Ok(u) = url::Url::parse(self.database.url.expose()) {
            if let Some(p) = u.password() {
                out.push(p.to_string());
            }
        }
        out
    }

    /// `text` with every secret replaced by `****`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets() {
            if s.len() >= 3 {
                out = out.replace(&s, "****");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let mut cfg = RemoteConfig::default();
        cfg.apply_env(|k| match k {
            "SPACES_SECRET_KEY" => Some("s3cr3t-value".into()),
            "DATABASE_URL" => Some("postgres://u:pw-123@db.example.com/x".into()),
            "SPACES_ENDPOINT" => Some("https://fra1.digitaloceanspaces.com".into()),
            _ => None,
        });
        let shown = format!("{cfg:?} {}", cfg.database.url);
        assert!(!shown.contains("s3cr3t") && !shown.contains("pw-123"), "{shown}");
        assert_eq!(
            cfg.redact("auth failed for pw-123 / s3cr3t-value"),
            "auth failed for **** / ****"
        );
        assert_eq!(cfg.missing(), vec!["SPACES_BUCKET", "SPACES_ACCESS_KEY"]);
    }

    #[test]
    fn file_round_trips_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/remote.toml");
        let mut cfg = RemoteConfig::default();
        cfg.spaces.bucket = "implants".into();
        cfg.spaces.secret_key = Secret::new("abc");
        cfg.save(&path).unwrap();
        assert_eq!(RemoteConfig::read(&path).unwrap(), cfg);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "spaces = { secret_key = \"abc\" ").unwrap();
        let err = RemoteConfig::read(&path).unwrap_err().to_string();
        assert!(!err.contains("abc"), "{err}");
    }
}
