#!/usr/bin/env bash
# Interleaved A/B of the 50 ms latency stage of e2e.sh: for each round and
# each binary, that binary's `testbed serve --latency-ms 50` answers a crawl
# by the same binary of a sample of a generated universe. The server shares
# the two cores with the crawler it measures, so both CPU figures matter.
#
#   benches/latency.sh BIN...        # e.g. an old and a new release-lto build
#
# Environment knobs:
#   LAT_UNIVERSE=DIR  a universe from `testbed generate` (required; e.g. the
#                     one `BENCH_WORK=/tmp/e2e benches/e2e.sh` leaves in
#                     /tmp/e2e/universe)
#   LAT_SAMPLE=N      domains crawled per run (default 50000, the first N)
#   LAT_ROUNDS=N      interleaved rounds (default 3)
#   LAT_MS=N          injected latency (default 50)
#   LAT_CONCURRENCY=N --concurrency of the crawls (default 4096, as e2e.sh)
#   LAT_WINDOW_MAX=N  --window-max of the crawls (default 16384, as e2e.sh)
# Prints one line per run: steady domains/s and queries/s (benches/steady.py),
# wall time, crawler and server CPU µs per query, timeouts. Needs duckdb
# (Python) and /usr/bin/time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# free_port, cpu_ticks, TCK, start_testbed_serve
source "$ROOT/benches/lib.sh"
U="${LAT_UNIVERSE:-}"
N="${LAT_SAMPLE:-50000}"
ROUNDS="${LAT_ROUNDS:-3}"
MS="${LAT_MS:-50}"
CONC="${LAT_CONCURRENCY:-4096}"
WMAX="${LAT_WINDOW_MAX:-16384}"
[[ $# -ge 1 ]] || { echo "usage: benches/latency.sh BIN..." >&2; exit 2; }
[[ -f "$U/domains.txt" ]] || { echo "no universe in $U (set LAT_UNIVERSE)" >&2; exit 2; }
WORK="$(mktemp -d)"
SERVE_PID=""
cleanup() { [[ -n "$SERVE_PID" ]] && kill "$SERVE_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
awk -v n="$N" '!/^[[:space:]]*(#|$)/ && c++ < n' "$U/domains.txt" >"$WORK/input.txt"
for ((r = 1; r <= ROUNDS; r++)); do
    for BIN in "$@"; do
        D="$(free_port)"; H="$(free_port)"
        start_testbed_serve ca 600 "$WORK/serve.out" "$WORK/serve.err" \
            "$BIN" "$U" --dns "127.0.0.1:$D" --https "127.0.0.1:$H" --latency-ms "$MS" ||
            { echo "testbed serve did not start: $(tail -3 "$WORK/serve.err")" >&2; exit 1; }
        CA="$(awk '/^ca /{print $2}' "$WORK/serve.out")"
        s0="$(cpu_ticks "$SERVE_PID")"
        rm -rf "$WORK/snap"
        /usr/bin/time -f "%U %S %e" -o "$WORK/time" "$BIN" crawl --resolver "127.0.0.1:$D" \
            --out "$WORK/snap" --snapshot l --no-progress --ca-file "$CA" --mta-sts-port "$H" \
            --concurrency "$CONC" --window-max "$WMAX" "$WORK/input.txt" 2>"$WORK/crawl.err"
        s1="$(cpu_ticks "$SERVE_PID")"
        kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=""
        python3 - "$ROOT/benches" "$WORK" "$BIN" "$s0" "$s1" "$TCK" <<'PY'
import re, sys
sys.path.insert(0, sys.argv[1])
from steady import steady
work, name = sys.argv[2], sys.argv[3]
s0, s1, tck = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
user, system, wall = map(float, open(f"{work}/time").read().split())
rows, queries, span = steady(f"{work}/snap")
stats = next(l for l in open(f"{work}/crawl.err") if "StatsSnapshot" in l)
sent = int(re.search(r"sent: (\d+)", stats).group(1))
timeouts = int(re.search(r"timeouts: (\d+)", stats).group(1))
def stat(key):
    m = re.search(key + r": (\d+)", stats)
    return m.group(1) if m else "-"
print(f"{name}: steady {rows / span:,.0f} domains/s ({queries / span:,.0f} q/s), wall {wall:.1f} s, "
      f"crawler {(user + system) / sent * 1e6:.1f} µs/q, server {(s1 - s0) / tck / sent * 1e6:.1f} µs/q, "
      f"timeouts {timeouts}; window: waits {stat('window_waits')}, halvings {stat('window_shrinks')}, "
      f"presumed lost {stat('window_presumed_lost')}, peak outstanding {stat('outstanding_peak')}",
      flush=True)
PY
    done
done
