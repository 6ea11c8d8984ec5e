//! A local stand-in for production, to try `raiox sync`, run `raiox bench --remote` and the
//! rclone/psycopg anchors without a cloud account: an S3-protocol server (s3s-fs) over a folder and
//! a PostgreSQL 16 + pgvector server (PyPI `pgserver`'s binaries), the same servers the sync tests use.
//!
//! Run: `cargo run --example local_production -- [FOLDER]`, then paste the printed `export` lines
//! into another shell. Ctrl-C stops both servers.

#[path = "../tests/common/servers.rs"]
mod servers;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("raiox-local-production"));
    let bucket = "raiox-local";
    std::fs::create_dir_all(dir.join(bucket)).expect("create the bucket folder");
    let s3 = servers::S3::serve(&dir, servers::S3Opts::default());
    let pg = servers::Postgres::start();
    let url = pg.fresh_db("production");
    println!("export SPACES_ENDPOINT={}", s3.endpoint);
    println!("export SPACES_BUCKET={bucket}");
    println!("export SPACES_ACCESS_KEY={}", servers::ACCESS);
    println!("export SPACES_SECRET_KEY={}", servers::SECRET);
    println!("export DATABASE_URL={url}");
    println!("# objects under {}; Ctrl-C to stop", dir.join(bucket).display());
    loop {
        std::thread::park();
    }
}
