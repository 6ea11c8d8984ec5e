"""Upload and upsert anchors for `raiox sync`: rclone copying the same standard PNGs to the same
bucket, and psycopg2 upserting the same rows (with their vectors) into the same PostgreSQL.

pip install psycopg2-binary; apt-get install rclone
python benches/anchors/sync_anchors.py DATA/inputs/sync
Reads SPACES_ENDPOINT, SPACES_BUCKET, SPACES_ACCESS_KEY, SPACES_SECRET_KEY (SPACES_REGION,
SPACES_PATH_STYLE optional) and DATABASE_URL, like raiox. Uploads go under
`bench-anchor/<time>/` with 8 transfers (raiox's concurrency); rows go to a scratch table
`raiox_bench_anchor` (dropped afterwards) in batches of 500 per transaction (raiox's batch),
`INSERT ... ON CONFLICT DO UPDATE`, once through psycopg2.extras.execute_values and once through
cursor.executemany (the table emptied in between). Each line gives items or rows per second, MB/s
for the upload, and the CPU seconds of the anchor (rclone as a child process; psycopg2 in this
process). Prints one JSON line per anchor, or why it was skipped.
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import uuid


def skipped(anchor, why):
    print(json.dumps({"anchor": anchor, "skipped": why}))


def rclone(folder):
    need = ["SPACES_ENDPOINT", "SPACES_BUCKET", "SPACES_ACCESS_KEY", "SPACES_SECRET_KEY"]
    missing = [k for k in need if not os.environ.get(k)]
    if missing:
        return skipped("rclone", "not configured: " + ", ".join(missing) + " unset")
    if not shutil.which("rclone"):
        return skipped("rclone", "rclone not installed (apt-get install rclone)")
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}  # rclone refuses to start with it
    env.update({
        "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ENDPOINT": os.environ["SPACES_ENDPOINT"],
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": os.environ["SPACES_ACCESS_KEY"],
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": os.environ["SPACES_SECRET_KEY"],
        "RCLONE_CONFIG_BENCH_REGION": os.environ.get("SPACES_REGION", "us-east-1"),
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true" if os.environ.get("SPACES_PATH_STYLE", "") in ("1", "true", "yes", "on") else "false",
    })
    files = os.listdir(folder)
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in files)
    dest = f"bench:{os.environ['SPACES_BUCKET']}/bench-anchor/{int(time.time())}/"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(["rclone", "copy", folder, dest, "--transfers", "8", "--s3-no-check-bucket"], env=env, check=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    version = subprocess.run(["rclone", "version"], env=env, capture_output=True, text=True).stdout.split("\n")[0]
    print(json.dumps({"anchor": "rclone copy, 8 transfers", "rclone": version, "items": len(files),
                      "items_per_s": len(files) / seconds, "mb_per_s": size / 1e6 / seconds, "cpu_s": cpu}))


def psycopg(rows_path):
    if not os.environ.get("DATABASE_URL"):
        return skipped("psycopg2", "not configured: DATABASE_URL unset")
    import psycopg2
    import psycopg2.extras

    rows = [json.loads(line) for line in open(rows_path)]
    dim = len(rows[0]["embedding"])
    conn = psycopg2.connect(os.environ["DATABASE_URL"])
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
    cur.execute("DROP TABLE IF EXISTS raiox_bench_anchor")
    cur.execute(f"""CREATE TABLE raiox_bench_anchor (
        id uuid PRIMARY KEY, content_sha256 text NOT NULL UNIQUE, standard_name text NOT NULL UNIQUE,
        manufacturer text NOT NULL, system text NOT NULL, embedding vector({dim}) NOT NULL,
        revision bigint NOT NULL DEFAULT 1, updated_at timestamptz NOT NULL DEFAULT now())""")
    conn.commit()
    values = [(str(uuid.uuid4()), r["content_sha256"], r["standard_name"], r["manufacturer"], r["system"],
               "[" + ",".join(map(repr, r["embedding"])) + "]") for r in rows]
    upsert = """INSERT INTO raiox_bench_anchor
            (id, content_sha256, standard_name, manufacturer, system, embedding) VALUES {}
            ON CONFLICT (content_sha256) DO UPDATE SET standard_name = EXCLUDED.standard_name,
            manufacturer = EXCLUDED.manufacturer, system = EXCLUDED.system, embedding = EXCLUDED.embedding,
            revision = raiox_bench_anchor.revision + 1, updated_at = now()"""

    def with_execute_values(batch):
        psycopg2.extras.execute_values(cur, upsert.format("%s"), batch,
                                       template="(%s, %s, %s, %s, %s, %s::vector)")

    def with_executemany(batch):
        cur.executemany(upsert.format("(%s, %s, %s, %s, %s, %s::vector)"), batch)

    for name, write in [("execute_values", with_execute_values), ("executemany", with_executemany)]:
        cur.execute("TRUNCATE raiox_bench_anchor")
        conn.commit()
        cpu = time.process_time()
        start = time.perf_counter()
        for i in range(0, len(values), 500):
            write(values[i:i + 500])
            conn.commit()
        seconds = time.perf_counter() - start
        print(json.dumps({"anchor": f"psycopg2 {name} upsert, 500 per transaction",
                          "psycopg2": psycopg2.__version__, "rows": len(values),
                          "rows_per_s": len(values) / seconds, "cpu_s": time.process_time() - cpu}))
    cur.execute("DROP TABLE raiox_bench_anchor")
    conn.commit()


folder = sys.argv[1] if len(sys.argv) > 1 else "target/bench-data/raiox-bench/inputs/sync"
if not os.path.exists(os.path.join(folder, "rows.jsonl")):
    skipped("rclone", f"no inputs in {folder}: run `raiox bench --remote` with production configured")
    skipped("psycopg2", f"no inputs in {folder}")
else:
    rclone(os.path.join(folder, "png"))
    psycopg(os.path.join(folder, "rows.jsonl"))
