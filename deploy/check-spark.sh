#!/usr/bin/env bash
# Reads a sharded authcensus snapshot with PySpark (local[2]) through Hive
# partition discovery, and checks the figures against the shard manifests:
# every shard 0..N-1 has a finished manifest, Spark sees exactly the rows the
# manifests count, every domain once, and each domain in the shard its hash
# assigns (first 8 bytes of SHA-256, big-endian, mod N).
#
#   deploy/check-spark.sh ROOT SNAPSHOT_ID
#
# ROOT is a local directory holding ROOT/snapshot=ID/shard=K/part-*.parquet
# (a directory --out, or a download of an object-store snapshot:
# `RemoteStore::download_snapshot`, `aws s3 sync`, `gsutil rsync`). Spark reads
# s3a:// directly when the hadoop-aws jars are on its classpath; this check
# keeps to local files so it runs without them.
#
# Needs Java 17 and `pip install pyspark`. Not run by CI (Spark's JVM start-up
# costs about half a minute); the lead decides.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 ROOT SNAPSHOT_ID" >&2
  exit 2
fi
ROOT="$(cd "$1" && pwd)"
SNAPSHOT="$2"
if ! python3 -c 'import pyspark' 2>/dev/null; then
  echo "check-spark: pyspark is missing (pip install pyspark)" >&2
  exit 2
fi

# Local mode on loopback only.
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
exec python3 - "$ROOT" "$SNAPSHOT" <<'PY'
import glob, hashlib, json, os, sys, time

root, snapshot = sys.argv[1], sys.argv[2]
snap_dir = os.path.join(root, f"snapshot={snapshot}")
manifests = {}
for path in glob.glob(os.path.join(snap_dir, "shard=*", "manifest.json")):
    m = json.load(open(path))
    manifests[m["shard"]["index"]] = m
if not manifests:
    sys.exit(f"check-spark: no shard manifest under {snap_dir}")
count = {m["shard"]["count"] for m in manifests.values()}
if len(count) != 1:
    sys.exit(f"check-spark: shards disagree on N: {sorted(count)}")
n = count.pop()
missing = [k for k in range(n) if k not in manifests]
unfinished = [k for k, m in manifests.items() if not m["complete"]]
if missing or unfinished:
    sys.exit(f"check-spark: snapshot {snapshot} incomplete: missing shards {missing}, unfinished {unfinished}")
expected = {k: m["rows"] for k, m in manifests.items()}

started = time.time()
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").appName("authcensus-check")
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
df = (spark.read.option("basePath", root)
      .parquet(os.path.join(snap_dir, "shard=*", "part-*.parquet")))
df.createOrReplaceTempView("s")
by_shard = {int(r["shard"]): (r["rows"], r["domains"]) for r in spark.sql(
    "SELECT shard, count(*) AS rows, count(DISTINCT domain) AS domains FROM s GROUP BY shard").collect()}
got = {k: v[0] for k, v in by_shard.items()}
if got != expected:
    sys.exit(f"check-spark: rows by shard {got} != manifests {expected}")
if any(rows != domains for rows, domains in by_shard.values()):
    sys.exit(f"check-spark: a domain appears twice: {by_shard}")
misplaced = 0
for r in spark.sql("SELECT domain, shard FROM s").toLocalIterator():
    h = int.from_bytes(hashlib.sha256(r["domain"].encode()).digest()[:8], "big")
    misplaced += h % n != int(r["shard"])
if misplaced:
    sys.exit(f"check-spark: {misplaced} domains in the wrong shard")
print("snapshot\tpolicy\tdomains")
for r in spark.sql("""
    SELECT snapshot, coalesce(dmarc_effective_policy, '(' || dmarc_status || ')') AS policy, count(*) AS domains
    FROM s WHERE domain_status = 'ok' GROUP BY 1, 2 ORDER BY 1, 3 DESC""").collect():
    print(f"{r['snapshot']}\t{r['policy']}\t{r['domains']}")
total = sum(expected.values())
print(f"check-spark: OK: {total} rows in {n} shards read by Spark {spark.version}, "
      f"every domain once and in its hash shard, {time.time() - started:.1f}s")
spark.stop()
PY
