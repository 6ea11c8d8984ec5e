//! Real servers for the sync tests: PostgreSQL 16 + pgvector from PyPI's `pgserver` (its binaries,
//! run as an unprivileged user when the tests run as root), and an S3-protocol server (s3s-fs)
//! started in-process over a temp folder, plain HTTP or TLS with a throwaway CA.

#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where pgserver's PostgreSQL binaries are: `RAIOX_PG_BIN`, else the `pgserver` package of
/// `RAIOX_TEST_PYTHON` (set by `tools/test.sh`, which installs it under `target/`), else of `python3`.
fn pg_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let bin = match std::env::var_os("RAIOX_PG_BIN") {
            Some(p) => PathBuf::from(p),
            None => pgserver_bin(),
        };
        reachable_by_pg_user(bin)
    })
    .clone()
}

fn pgserver_bin() -> PathBuf {
    let python = std::env::var_os("RAIOX_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let out = Command::new(&python)
        .args([
            "-c",
            "import pgserver, os; print(os.path.dirname(pgserver.__file__))",
        ])
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        Ok(out) => panic!(
            "PostgreSQL for the sync tests comes from PyPI's pgserver, which {} cannot import: run the \
             tests with `tools/test.sh` (it installs pgserver under target/), or set RAIOX_PG_BIN\n{}",
            python.to_string_lossy(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "the sync tests need Python ({}: {e}) for pgserver: run them with `tools/test.sh`, or set RAIOX_PG_BIN",
            python.to_string_lossy()
        ),
    };
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("pginstall/bin")
}

/// As root, PostgreSQL runs as the `pgserver` account, which cannot reach binaries under a private
/// home (a checkout in /root): then a copy of the installation in the temp folder is used.
fn reachable_by_pg_user(bin: PathBuf) -> PathBuf {
    let Some(user) = pg_user() else {
        return bin;
    };
    let mut probe = Command::new(bin.join("postgres"));
    probe.arg("--version").stdout(Stdio::null()).stderr(Stdio::null());
    as_pg_user(&mut probe, Some(user));
    if probe.status().is_ok_and(|s| s.success()) {
        return bin;
    }
    // Copied: the installation (`pgserver/pginstall`) and the wheel's shared libraries beside the
    // package (`pgserver.libs`, found through the binaries' relative RPATH), in the same layout.
    let install = bin.parent().expect("pginstall/bin has a parent");
    let package = install.parent().expect("pginstall has a parent");
    let site = package.parent().expect("the package has a parent");
    let name = |p: &Path| p.file_name().expect("a named folder").to_owned();
    // One copy per installation, shared by test runs: made under a private name, then renamed.
    let tag: u64 = install
        .to_string_lossy()
        .bytes()
        .fold(0xcbf29ce484222325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        });
    let copy = std::env::temp_dir().join(format!("raiox-pginstall-{tag:016x}"));
    let copied_bin = copy.join(name(package)).join(name(install)).join("bin");
    if !copied_bin.join("postgres").exists() {
        let partial = std::env::temp_dir().join(format!("raiox-pginstall-{tag:016x}.{}", std::process::id()));
        std::fs::create_dir_all(partial.join(name(package))).expect("temp folder");
        let mut parts = vec![(
            install.to_path_buf(),
            partial.join(name(package)).join(name(install)),
        )];
        let mut libs = name(package);
        libs.push(".libs");
        if site.join(&libs).is_dir() {
            parts.push((site.join(&libs), partial.join(&libs)));
        }
        for (from, to) in parts {
            let status = Command::new("cp")
                .arg("-a")
                .arg(&from)
                .arg(&to)
                .status()
                .expect("cp");
            assert!(status.success(), "copying {} to {}", from.display(), to.display());
        }
        if std::fs::rename(&partial, &copy).is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
    }
    copied_bin
}

/// The unprivileged account PostgreSQL runs as when we are root (it refuses to run as root).
fn pg_user() -> Option<(u32, u32)> {
    if unsafe_geteuid() != 0 {
        return None;
    }
    let id = |flag: &str| {
        Command::new("id")
            .args([flag, "pgserver"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<u32>().ok())
    };
    if id("-u").is_none() {
        let _ = Command::new("useradd")
            .args(["--system", "--no-create-home", "pgserver"])
            .status();
    }
    Some((
        id("-u").expect("pgserver user"),
        id("-g").expect("pgserver group"),
    ))
}

fn unsafe_geteuid() -> u32 {
    let out = Command::new("id").arg("-u").output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(1)
}

fn as_pg_user(cmd: &mut Command, user: Option<(u32, u32)>) {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
}

/// A PostgreSQL server of our own, on a loopback TCP port.
pub struct Postgres {
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    /// TCP port.
    pub port: u16,
    child: Option<Child>,
}

impl Postgres {
    /// initdb + start.
    pub fn start() -> Postgres {
        let bin = pg_bin();
        let user = pg_user();
        let dir = tempfile::Builder::new().prefix("raiox-pg").tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
            std::os::unix::fs::chown(&data, Some(uid), Some(gid)).unwrap();
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args([
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=utf8",
                "--no-sync",
            ])
            .stdout(Stdio::null());
        as_pg_user(&mut initdb, user);
        let out = initdb.output().expect("initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = Postgres {
            _dir: dir,
            data,
            bin,
            user,
            port: free_port(),
            child: None,
        };
        pg.run();
        pg
    }

    fn run(&mut self) {
        let mut cmd = Command::new(self.bin.join("postgres"));
        cmd.args([
            "-D",
            self.data.to_str().unwrap(),
            "-p",
            &self.port.to_string(),
            "-h",
            "127.0.0.1",
            "-k",
            self.data.to_str().unwrap(),
            "-c",
            "fsync=off",
            "-c",
            "max_connections=50",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        as_pg_user(&mut cmd, self.user);
        self.child = Some(cmd.spawn().expect("postgres"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Fast shutdown (clients are disconnected), as a server restart or crash looks to them.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Stop and start again on the same port and data.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// A URL for a fresh database on this server.
    pub fn fresh_db(&self, name: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-c",
            ])
            .arg(format!("CREATE DATABASE \"{name}\""))
            .output()
            .expect("psql");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Run SQL (psql, tuples only) and return its output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-tAc",
                sql,
            ])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How the test S3 server behaves.
#[derive(Clone, Default)]
pub struct S3Opts {
    /// Go away (refuse every request and connection) after this many uploads.
    pub stop_after_puts: Option<usize>,
    /// Added latency per upload, so a test can act while uploads are in flight.
    pub put_delay: Duration,
    /// Serve HTTPS with a certificate signed by a fresh CA.
    pub tls: bool,
}

/// An S3-protocol server (s3s-fs) on loopback, over a folder, with access/secret keys.
pub struct S3 {
    _owned: Option<tempfile::TempDir>,
    /// Folder holding buckets (one sub-folder each).
    pub dir: PathBuf,
    /// `http://127.0.0.1:PORT` (or https).
    pub endpoint: String,
    /// Uploads served.
    pub puts: Arc<AtomicUsize>,
    rt: Option<tokio::runtime::Runtime>,
    /// PEM of the CA that signed the TLS certificate, when serving TLS.
    pub ca_pem: Option<String>,
}

/// Access key of the test server.
pub const ACCESS: &str = "raiox-test-access";
/// Secret key of the test server.
pub const SECRET: &str = "raiox-test-secret-value";

impl S3 {
    /// A healthy plain-HTTP server over a new temp folder holding `bucket`.
    pub fn start(bucket: &str) -> S3 {
        let owned = tempfile::tempdir().unwrap();
        std::fs::create_dir(owned.path().join(bucket)).unwrap();
        let mut s = Self::serve(owned.path(), S3Opts::default());
        s._owned = Some(owned);
        s
    }

    /// Serve an existing folder of buckets.
    pub fn serve(dir: &Path, opts: S3Opts) -> S3 {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let fs = s3s_fs::FileSystem::new(dir).unwrap();
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS, SECRET));
        let service = b.build();
        let puts = Arc::new(AtomicUsize::new(0));
        let (acceptor, ca_pem) = if opts.tls {
            let (a, ca) = tls_acceptor();
            (Some(a), Some(ca))
        } else {
            (None, None)
        };
        let counter = Arc::clone(&puts);
        let (limit, delay) = (opts.stop_after_puts, opts.put_delay);
        rt.spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                if limit.is_some_and(|n| counter.load(Ordering::SeqCst) >= n) {
                    return; // "down": the listener closes, connections are refused
                }
                let svc = service.clone();
                let counter = Arc::clone(&counter);
                let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let put = req.method() == hyper::Method::PUT && req.uri().path().matches('/').count() > 2;
                    let n = if put {
                        counter.fetch_add(1, Ordering::SeqCst)
                    } else {
                        0
                    };
                    let over = put && limit.is_some_and(|l| n >= l);
                    let svc = svc.clone();
                    async move {
                        if over {
                            return Err(std::io::Error::other("server stopped"));
                        }
                        if put && !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        hyper::service::Service::call(&svc, req)
                            .await
                            .map_err(|e| std::io::Error::other(format!("{e:?}")))
                    }
                });
                let http = http.clone();
                match &acceptor {
                    Some(acc) => {
                        let acc = acc.clone();
                        tokio::spawn(async move {
                            if let Ok(tls) = acc.accept(socket).await {
                                let _ = http.serve_connection(TokioIo::new(tls), svc).await;
                            }
                        });
                    }
                    None => {
                        tokio::spawn(async move {
                            let _ = http.serve_connection(TokioIo::new(socket), svc).await;
                        });
                    }
                }
            }
        });
        let scheme = if opts.tls { "https" } else { "http" };
        S3 {
            _owned: None,
            dir: dir.to_path_buf(),
            endpoint: format!("{scheme}://127.0.0.1:{port}"),
            puts,
            rt: Some(rt),
            ca_pem,
        }
    }

    /// Object keys stored in a bucket, sorted (s3s-fs keeps objects as files; hidden metadata
    /// folders are left out).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let base = self.dir.join(bucket);
        let mut out = Vec::new();
        walk(&base, &base, &mut out);
        out.sort();
        out
    }

    /// Serve the same folder again (a new port), behaving as `opts` says.
    pub fn restart(&mut self, opts: S3Opts) {
        self.stop();
        let owned = self._owned.take();
        let mut fresh = Self::serve(&self.dir, opts);
        fresh._owned = owned;
        *self = fresh;
    }

    /// Stop serving (connections in flight are dropped).
    pub fn stop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.stop();
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            walk(base, &p, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

/// A TLS acceptor for 127.0.0.1/localhost with a certificate signed by a fresh CA; returns the CA PEM.
fn tls_acceptor() -> (tokio_rustls::TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "raiox test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), ca.pem())
}
