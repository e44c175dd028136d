#!/usr/bin/env bash
# Report engine benchmark: `authcensus report` and `authcensus diff` on two
# generated N-row snapshots, against DuckDB running the equivalent SQL on the
# same files, each under /usr/bin/time -v (wall time, peak RSS).
#
# usage: benches/report.sh [N]        (default 10,000,000)
# needs: python3 with duckdb, /usr/bin/time; builds authcensus --release.
# Results: a table on stdout and benches/results/report-<date>-<N>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000000}"
WORK="${BENCH_WORK:-$(mktemp -d)}"
trap '[ -z "${BENCH_KEEP:-}" ] && rm -rf "$WORK"' EXIT
ROOT="$WORK/snapshots"

cargo build --release -p authcensus
BIN="${CARGO_TARGET_DIR:-target}/release/authcensus"

if [ ! -d "$ROOT/snapshot=2026-10-01" ]; then
  python3 benches/report_gen.py "$ROOT" 2026-10-01 "$N" 1
  python3 benches/report_gen.py "$ROOT" 2026-11-01 "$N" 2
fi
OLD="$ROOT/snapshot=2026-10-01"; NEW="$ROOT/snapshot=2026-11-01"

declare -A SECS RSS
measure() { # name cmd... -> "name seconds peak_rss_mb"
  local name="$1"; shift
  if ! /usr/bin/time -v "$@" >"$WORK/$name.out" 2>"$WORK/$name.time"; then
    echo "FAILED: $name"; grep -v '^[[:space:]]' "$WORK/$name.time" | head -20; exit 1
  fi
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/$name.time" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/$name.time")
  SECS[$name]=$wall; RSS[$name]=$rss
  printf '%-30s %8.2f s %8s MB\n' "$name" "$wall" "$rss"
}

DUCK_DIFF=$(cat <<SQL
WITH o AS (SELECT domain,
    CASE WHEN dmarc_status = 'valid' THEN coalesce(dmarc_effective_policy, '(unknown)') ELSE '(' || dmarc_status || ')' END AS dmarc,
    CASE WHEN spf_status = 'valid' THEN coalesce(spf_all, '(no all)') ELSE '(' || spf_status || ')' END AS spf,
    CASE WHEN mta_sts_status = 'valid' THEN coalesce(mta_sts_mode, '(unknown)') ELSE '(' || mta_sts_status || ')' END AS sts
  FROM read_parquet('$OLD/*.parquet')),
n AS (SELECT domain,
    CASE WHEN dmarc_status = 'valid' THEN coalesce(dmarc_effective_policy, '(unknown)') ELSE '(' || dmarc_status || ')' END AS dmarc,
    CASE WHEN spf_status = 'valid' THEN coalesce(spf_all, '(no all)') ELSE '(' || spf_status || ')' END AS spf,
    CASE WHEN mta_sts_status = 'valid' THEN coalesce(mta_sts_mode, '(unknown)') ELSE '(' || mta_sts_status || ')' END AS sts
  FROM read_parquet('$NEW/*.parquet')),
d AS (SELECT o.domain AS od, n.domain AS nd, o.dmarc AS a1, n.dmarc AS b1, o.spf AS a2, n.spf AS b2, o.sts AS a3, n.sts AS b3
  FROM o FULL OUTER JOIN n ON o.domain = n.domain)
SELECT 'presence', CASE WHEN od IS NULL THEN 'appeared' WHEN nd IS NULL THEN 'disappeared' ELSE 'common' END, '', count(*) FROM d GROUP BY ALL
UNION ALL SELECT 'dmarc', a1, b1, count(*) FROM d WHERE od IS NOT NULL AND nd IS NOT NULL GROUP BY ALL
UNION ALL SELECT 'spf', a2, b2, count(*) FROM d WHERE od IS NOT NULL AND nd IS NOT NULL GROUP BY ALL
UNION ALL SELECT 'mta_sts', a3, b3, count(*) FROM d WHERE od IS NOT NULL AND nd IS NOT NULL GROUP BY ALL;
SQL
)
DUCK_REPORT=$(cat <<SQL
SELECT count(*), count(*) FILTER (WHERE domain_status = 'ok'),
  count(*) FILTER (WHERE domain_status = 'ok' AND spf_status = 'valid'),
  count(*) FILTER (WHERE domain_status = 'ok' AND dmarc_status = 'valid' AND dmarc_effective_policy IN ('quarantine', 'reject')),
  count(*) FILTER (WHERE domain_status = 'ok' AND spf_dns_lookups > 10)
FROM read_parquet('$NEW/*.parquet');
SELECT dmarc_effective_policy, count(*) FROM read_parquet('$NEW/*.parquet') WHERE domain_status = 'ok' AND dmarc_status = 'valid' GROUP BY ALL;
SELECT public_suffix, count(*) FROM read_parquet('$NEW/*.parquet') WHERE domain_status = 'ok' GROUP BY ALL;
SQL
)

{
  echo "report engine benchmark, $(date -u +%Y-%m-%dT%H:%MZ), N=$N rows per snapshot, $(nproc) cores, $(python3 -c 'import duckdb; print("duckdb", duckdb.__version__)')"
  echo "git $(git rev-parse --short HEAD)"
  measure "authcensus report" "$BIN" report "$NEW" --format json -o "$WORK/report.json"
  measure "authcensus report --by suffix" "$BIN" report "$NEW" --by suffix --format json -o "$WORK/report-suffix.json"
  measure "duckdb report-equivalent" python3 -c "import duckdb,sys; [duckdb.sql(q).fetchall() for q in sys.argv[1].split(';') if q.strip()]" "$DUCK_REPORT"
  measure "authcensus diff" "$BIN" diff "$OLD" "$NEW" --limit 100 --format json -o "$WORK/diff.json"
  # The same outputs in DuckDB (presence, matrices, attribution, changed
  # count, first 100 changes), checked against authcensus's JSON: the
  # reference of the 1.5x target. The matrices-only query is shown as well.
  measure "duckdb diff, same outputs" python3 benches/report_duck_diff.py "$OLD" "$NEW" "$WORK/diff.json"
  measure "duckdb diff, matrices only" python3 -c "import duckdb,sys; print(len(duckdb.sql(sys.argv[1]).fetchall()))" "$DUCK_DIFF"
  awk -v a="${SECS[authcensus diff]}" -v b="${SECS[duckdb diff, same outputs]}" -v m="${RSS[authcensus diff]}" \
    'BEGIN { printf "diff: %.2fx DuckDB (same outputs), peak %d MB (targets: <= 1.5x, < 4096 MB)\n", a / b, m }'
  awk -v a="${SECS[authcensus report]}" -v b="${SECS[authcensus report --by suffix]}" \
    'BEGIN { printf "report: %.2f s, --by suffix %.2f s (target: < 10 s)\n", a, b }'
} | tee "benches/results/report-$(date -u +%Y-%m-%d)-$N.txt"
