#!/usr/bin/env bash
# Scale run of `authcensus crawl` (issue 9): memory must not grow with the
# input. The testbed answers a synthetic universe on the fly
# (`testbed serve --synthetic N`: no zone file, no list on disk, server memory
# independent of N), the names are streamed into the crawl through a pipe
# (`testbed synthetic-list N | authcensus crawl -`), and the crawler's
# resident set size is sampled every 2 s. The run prints RSS at each
# million domains and the peak, and writes
# benches/results/scale-<date>-<N>.json.
#
#   benches/scale.sh [N_DOMAINS]       # default 10000000; 1000000 is the quick run
#
# Environment knobs: SCALE_CONCURRENCY (crawler --concurrency, default: the
# crawler's default), SCALE_ROWS_PER_FILE (default 10000, the crawl's default), SCALE_WORK=DIR (kept),
# SCALE_EXTRA="..." (more crawl flags), SCALE_PROFILE (cargo profile, default
# release-lto like e2e.sh; `release` builds faster).
# Requires: a Rust toolchain, python3, /usr/bin/time (Debian `time`).
set -euo pipefail

N="${1:-10000000}"
[[ "$N" =~ ^[0-9]+$ ]] || { echo "usage: benches/scale.sh [N_DOMAINS]" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROWS_PER_FILE="${SCALE_ROWS_PER_FILE:-10000}"
[[ "$ROWS_PER_FILE" =~ ^[1-9][0-9]*$ ]] || { echo "scale: SCALE_ROWS_PER_FILE must be a positive integer" >&2; exit 2; }
if [[ -n "${SCALE_WORK:-}" ]]; then WORK="$SCALE_WORK"; mkdir -p "$WORK"; else WORK="$(mktemp -d /tmp/authcensus-scale.XXXXXX)"; fi
PIDS=()
cleanup() {
    local rc=$?
    [[ -n "${CRAWL_PID:-}" ]] && kill "$CRAWL_PID" 2>/dev/null || true
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ -z "${SCALE_WORK:-}" ]]; then rm -rf "$WORK"; else echo "scale: work directory kept: $WORK" >&2; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "scale [$(date -u +%H:%M:%S)]: $*" >&2; }
source "$ROOT/benches/lib.sh" # free_port, start_testbed_serve, build_authcensus

PROFILE="${SCALE_PROFILE:-release-lto}"
log "cargo build --profile $PROFILE -p authcensus"
BIN="$(build_authcensus "$PROFILE")"

PORT="$(free_port)"
ok=0
start_testbed_serve dns 5 "$WORK/serve.out" "$WORK/serve.err" \
    "$BIN" --synthetic "$N" --dns "127.0.0.1:$PORT" --https "127.0.0.1:0" || ok=$?
SERVER=$SERVE_PID
PIDS+=("$SERVER")
[[ "$ok" -eq 0 ]] || { log "testbed did not start"; cat "$WORK/serve.err" >&2; exit 1; }

EXTRA=()
[[ -n "${SCALE_CONCURRENCY:-}" ]] && EXTRA+=(--concurrency "$SCALE_CONCURRENCY")
# shellcheck disable=SC2206
[[ -n "${SCALE_EXTRA:-}" ]] && EXTRA+=($SCALE_EXTRA)

# A kept work directory still holds the last run's snapshot: crawling into
# it would resume (skip every domain already written), not measure.
rm -rf "$WORK/out"
log "crawl of $N synthetic domains through a pipe"
START=$(date +%s.%N)
set +e
"$BIN" testbed synthetic-list "$N" |
    /usr/bin/time -v -o "$WORK/time.txt" "$BIN" crawl --resolver "127.0.0.1:$PORT" --timeout 2 --retries 2 \
        --out "$WORK/out" --snapshot scale --no-progress --rows-per-file "$ROWS_PER_FILE" "${EXTRA[@]}" - 2>"$WORK/crawl.err" &
CRAWL_PIPE=$!
set -e
PIDS+=("$CRAWL_PIPE")
# Sample the crawler's RSS and its progress (rows in closed part files are
# not counted here; the manifest at the end is).
: >"$WORK/rss.csv"
CRAWL_PID=""
while kill -0 "$CRAWL_PIPE" 2>/dev/null; do
    if [[ -z "$CRAWL_PID" ]]; then
        CRAWL_PID="$(pgrep -n -f "authcensus crawl --resolver 127.0.0.1:$PORT" || true)"
    fi
    if [[ -n "$CRAWL_PID" && -r "/proc/$CRAWL_PID/status" ]]; then
        rss="$(awk '/^VmRSS:/{print $2}' "/proc/$CRAWL_PID/status" 2>/dev/null || true)"
        # `|| true`: until the crawl creates its output directory, find fails,
        # and with pipefail and `set -e` that used to end the script at random
        # (leaving the crawl orphaned, hammering a stopped server).
        parts="$(find "$WORK/out" -name 'part-*.parquet' 2>/dev/null | wc -l || true)"
        [[ -n "$rss" ]] && echo "$(date +%s.%N),$rss,$parts" >>"$WORK/rss.csv"
    fi
    sleep 2
done
wait "$CRAWL_PIPE"
RC=$?
END=$(date +%s.%N)
[[ $RC -eq 0 ]] || { log "crawl failed ($RC)"; tail -20 "$WORK/crawl.err" >&2; exit 1; }

mkdir -p benches/results
OUT_JSON="benches/results/scale-$(date -u +%Y-%m-%d)-$N.json"
SCALE_PROFILE_USED="$PROFILE" python3 - "$WORK" "$N" "$START" "$END" "$OUT_JSON" "$ROWS_PER_FILE" <<'EOF'
import json, os, platform, sys
work, n, start, end, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
t = {}
for line in open(os.path.join(work, "time.txt")):
    k, _, v = line.strip().rpartition(": ")
    t[k] = v
m = json.load(open(os.path.join(work, "out", "snapshot=scale", "manifest.json")))
samples = []
for line in open(os.path.join(work, "rss.csv")):
    ts, rss, parts = line.strip().split(",")
    samples.append((float(ts) - start, int(rss) / 1024, int(parts)))
rows_per_part = int(sys.argv[6])
by_million = {}
for s, rss, parts in samples:
    done = parts * rows_per_part
    key = done // 1_000_000
    by_million[key] = max(by_million.get(key, 0), rss)
wall = end - start
res = {
    "date_utc": __import__("datetime").datetime.now(__import__("datetime").timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "domains": n,
    "rows": m.get("rows"),
    "complete": m.get("complete"),
    "domain_status_counts": m.get("domain_status_counts"),
    "wall_s": round(wall, 1),
    "domains_per_s": round(n / wall, 1),
    "peak_rss_mb": round(int(t.get("Maximum resident set size (kbytes)", 0)) / 1024, 1),
    "rss_mb_peak_by_million_done": {f"{k}M": round(v, 1) for k, v in sorted(by_million.items())},
    "rss_samples": len(samples),
    "rows_per_file": rows_per_part,
    "cpu_s": round(float(t.get("User time (seconds)", 0)) + float(t.get("System time (seconds)", 0)), 1),
    "machine": {"nproc": os.cpu_count(), "kernel": platform.release()},
    "build_profile": os.environ.get("SCALE_PROFILE_USED", ""),
}
json.dump(res, open(out, "w"), indent=1)
print(f"{n} domains in {wall:.0f} s ({n / wall:.0f} domains/s), {m.get('rows')} rows, complete={m.get('complete')}")
print(f"peak RSS {res['peak_rss_mb']} MB; peak RSS by millions of rows written: {res['rss_mb_peak_by_million_done']}")
print(f"written to {out}")
EOF
