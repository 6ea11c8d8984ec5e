//! Connecting to production's PostgreSQL: URL parsing with libpq's `sslmode`, and rustls TLS.
//!
//! Why our own parsing: tokio-postgres understands `sslmode=disable|prefer|require` only, while
//! production URLs (DigitalOcean's among them) also use `verify-ca`, `verify-full` and `sslrootcert`.
//! TLS is required by default for any host that is not this machine, verified against the Mozilla
//! roots plus the OS store (so `SSL_CERT_FILE` adds a CA) plus `sslrootcert` when given.
//!
//! Why stricter than libpq: DigitalOcean's connection strings say `sslmode=require`, which in libpq
//! accepts any certificate, so anyone on the path could take the password. For a host that is not
//! this machine, `require` and `prefer` verify the certificate and never fall back to plain text;
//! `disable` is refused. Only `raiox_tls=insecure` in the URL (an explicit choice) turns that off.
//! A host counts as this machine only when its name *and* any `hostaddr` are loopback.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, NoTls};

use crate::config::Secret;
use crate::objects::is_local_host;
use raiox_core::Error;

/// How a connection is protected, after defaults are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsPolicy {
    /// Plain TCP or a Unix socket.
    Disable,
    /// TLS when the server offers it, verified.
    Prefer,
    /// TLS, certificate not verified (libpq's `require`).
    Require,
    /// TLS, certificate chain and host name verified (`verify-ca` is treated as this, stricter).
    VerifyFull,
}

/// A parsed `DATABASE_URL`.
pub struct DbTarget {
    config: tokio_postgres::Config,
    policy: TlsPolicy,
    root_cert: Option<std::path::PathBuf>,
}

impl DbTarget {
    /// Parse the URL; `sslmode` defaults to `disable` for this machine and `verify-full` elsewhere.
    pub fn parse(url: &Secret, timeout: Duration) -> Result<DbTarget, Error> {
        let raw = url.expose().trim();
        // Not `url::Url`: libpq URLs may have an empty host (`postgresql://user@/db?host=/run/pg`).
        let (base, query) = raw.split_once('?').unwrap_or((raw, ""));
        let mut mode = None;
        let mut root_cert = None;
        let mut insecure = false;
        let mut kept = url::form_urlencoded::Serializer::new(String::new());
        let mut any = false;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "sslmode" => mode = Some(v.to_string()),
                "sslrootcert" => root_cert = Some(std::path::PathBuf::from(v.as_ref())),
                "raiox_tls" if v == "insecure" => insecure = true,
                "raiox_tls" => {
                    return Err(Error::Invalid(format!(
                        "DATABASE_URL: raiox_tls={v:?} is not understood (only \"insecure\")"
                    )))
                }
                _ => {
                    kept.append_pair(&k, &v);
                    any = true;
                }
            }
        }
        let rebuilt = if any {
            format!("{base}?{}", kept.finish())
        } else {
            base.to_string()
        };
        let mut config = tokio_postgres::Config::from_str(&rebuilt)
            .map_err(|e| Error::Invalid(format!("DATABASE_URL: {e}")))?;
        config.connect_timeout(timeout);
        config.application_name("raiox");
        let local = config.get_hosts().iter().all(|h| match h {
            Host::Tcp(name) => is_local_host(name),
            Host::Unix(_) => true,
        }) && config.get_hostaddrs().iter().all(|a| a.is_loopback());
        let policy = match mode.as_deref() {
            None if local => TlsPolicy::Disable,
            None => TlsPolicy::VerifyFull,
            Some("disable") | Some("allow") if local || insecure => TlsPolicy::Disable,
            Some("disable") | Some("allow") => {
                return Err(Error::Invalid(
                    "DATABASE_URL: sslmode=disable to a host that is not this machine would send the password \
                     unencrypted; use sslmode=require (verified), or add raiox_tls=insecure if you really mean it"
                        .into(),
                ))
            }
            Some("prefer") if local || insecure => TlsPolicy::Prefer,
            Some("require") if insecure && root_cert.is_none() => TlsPolicy::Require,
            Some("require") if local && root_cert.is_none() => TlsPolicy::Require,
            Some("prefer") | Some("require") | Some("verify-ca") | Some("verify-full") => TlsPolicy::VerifyFull,
            Some(other) => {
                return Err(Error::Invalid(format!("DATABASE_URL: unknown sslmode {other:?}")));
            }
        };
        config.ssl_mode(match policy {
            TlsPolicy::Disable => SslMode::Disable,
            TlsPolicy::Prefer => SslMode::Prefer,
            TlsPolicy::Require | TlsPolicy::VerifyFull => SslMode::Require,
        });
        Ok(DbTarget {
            config,
            policy,
            root_cert,
        })
    }

    /// The TLS policy in force.
    pub fn policy(&self) -> TlsPolicy {
        self.policy
    }

    /// Connect; the connection task runs on the current tokio runtime.
    pub async fn connect(&self) -> Result<Client, Error> {
        let result = if self.policy == TlsPolicy::Disable {
            self.config.connect(NoTls).await.map(|(client, conn)| {
                tokio::spawn(conn);
                client
            })
        } else {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config()?);
            self.config.connect(tls).await.map(|(client, conn)| {
                tokio::spawn(conn);
                client
            })
        };
        result.map_err(|e| Error::Remote(format!("PostgreSQL: {}", describe(&e))))
    }

    fn tls_config(&self) -> Result<ClientConfig, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Remote(format!("TLS set-up: {e}")))?;
        if self.policy == TlsPolicy::Require {
            return Ok(builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
                .with_no_client_auth());
        }
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = &self.root_cert {
            let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|e| Error::io(path, e))?;
                roots
                    .add(cert)
                    .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
            }
        }
        Ok(builder.with_root_certificates(roots).with_no_client_auth())
    }
}

/// A PostgreSQL error as one line: the server's message and code when there is one, else the
/// innermost cause (connection refused, TLS, DNS). tokio-postgres never includes the password.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        text = format!("{text}: {s}");
        src = s.source();
    }
    text
}

/// libpq's `sslmode=require`: encrypt, but accept any certificate (signatures are still checked).
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(url: &str) -> TlsPolicy {
        DbTarget::parse(&Secret::new(url), Duration::from_secs(1))
            .unwrap()
            .policy()
    }

    #[test]
    fn sslmode_defaults_and_overrides() {
        assert_eq!(policy("postgres://u:p@127.0.0.1:5432/db"), TlsPolicy::Disable);
        assert_eq!(
            policy("postgresql://postgres:@/postgres?host=/tmp/x"),
            TlsPolicy::Disable
        );
        assert_eq!(policy("postgres://u:p@db.example.com/db"), TlsPolicy::VerifyFull);
        // DigitalOcean's strings say `require`: verified for a remote host.
        assert_eq!(
            policy("postgres://u:p@db.example.com/db?sslmode=require"),
            TlsPolicy::VerifyFull
        );
        assert_eq!(
            policy("postgres://u:p@db.example.com/db?sslmode=prefer"),
            TlsPolicy::VerifyFull
        );
        assert_eq!(
            policy("postgres://u:p@db.example.com/db?sslmode=require&raiox_tls=insecure"),
            TlsPolicy::Require
        );
        assert_eq!(
            policy("postgres://u:p@localhost/db?sslmode=require"),
            TlsPolicy::Require
        );
        // A loopback name with a remote address is remote.
        assert_eq!(
            policy("postgres://u:p@localhost/db?hostaddr=203.0.113.7"),
            TlsPolicy::VerifyFull
        );
        assert_eq!(
            policy("postgres://u:p@db.example.com/db?hostaddr=127.0.0.1&sslmode=require"),
            TlsPolicy::VerifyFull
        );
        assert!(DbTarget::parse(
            &Secret::new("postgres://u:p@db.example.com/db?sslmode=disable"),
            Duration::from_secs(1)
        )
        .is_err());
        assert_eq!(
            policy("postgres://u:p@localhost/db?sslmode=verify-ca"),
            TlsPolicy::VerifyFull
        );
        let err = DbTarget::parse(
            &Secret::new("postgres://u:hunter22@h/db?sslmode=bogus"),
            Duration::from_secs(1),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("bogus") && !err.contains("hunter22"), "{err}");
    }
}
