#!/usr/bin/env bash
# Quick A/B of the crawler's CPU per query against Knot on loopback: the
# figure that decides the crawl/dnsperf ratio (benches/README.md, "CPU per
# query"). Interleaves runs of one or more authcensus binaries over the same
# sample of a testbed universe served by Knot (one UDP worker), with a
# dnsperf reference over the same domains in the same run.
#
#   benches/cpu.sh [BIN...]          # default: the release binary of this tree
#
# Environment knobs:
#   CPU_WORK=DIR      work directory, kept between runs (default /tmp/authcensus-cpu)
#   CPU_UNIVERSE=N    universe size (default 100000; generated once per work dir)
#   CPU_SAMPLE=N      domains crawled per run (default 30000, the first N)
#   CPU_ROUNDS=N      interleaved rounds (default 6: single runs on the 2-core
#                     VM differ by ±5 %, so compare the medians printed at the end)
#   CPU_CONCURRENCY=N --concurrency of the crawls (default 2048)
#   CPU_ENV="K=V ..." extra environment for the crawls (e.g. TOKIO_WORKER_THREADS=1)
#   CPU_WRAP="CMD ..." a command the crawl runs under (e.g. "perf record -e cpu-clock -o F --");
#                     its own CPU is then counted in the crawler's figure
# Prints one line per run: wall s, queries, q/s (and the steady q/s when the
# duckdb Python module is there), crawler CPU µs/query (user+sys
# from /usr/bin/time), Knot CPU µs/query, the testbed policy (HTTPS) server's CPU µs/query
# (it shares the two cores too), timeouts. Needs knotd, kdig, dnsperf, curl, /usr/bin/time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="${CPU_WORK:-/tmp/authcensus-cpu}"
NU="${CPU_UNIVERSE:-100000}"
NS="${CPU_SAMPLE:-30000}"
ROUNDS="${CPU_ROUNDS:-6}"
mkdir -p "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
log() { echo "cpu [$(date -u +%H:%M:%S)]: $*" >&2; }
# free_port, cpu_ticks, TCK, start_testbed_serve, write_knot_conf, build_authcensus
source "$ROOT/benches/lib.sh"

if [[ $# -eq 0 ]]; then
    set -- "$(build_authcensus release)"
fi
BIN0="$1"
U="$WORK/universe"
if [[ ! -f "$U/domains.txt" ]]; then
    log "testbed generate --domains $NU"
    "$BIN0" testbed generate --domains "$NU" --seed 1 --out "$U" --realworld "$ROOT/../shared/data/realworld" >&2
fi
awk -v n="$NS" '!/^[[:space:]]*(#|$)/ && c++ < n' "$U/domains.txt" >"$WORK/sample.txt"
mapfile -t ZONES < <(cd "$U/zones" && ls -- *.zone | sed 's/\.zone$//')

KPORT="$(free_port)"
write_knot_conf "$WORK/knot.conf" "$WORK/knot" "127.0.0.1@$KPORT"
knotd -c "$WORK/knot.conf" 2>"$WORK/knotd.err" &
KNOT=$!
PIDS+=("$KNOT")
for z in "${ZONES[0]}" "${ZONES[-1]}"; do
    for _ in $(seq 1 600); do
        kdig @127.0.0.1 -p "$KPORT" "$z." SOA +timeout=1 +retry=0 2>/dev/null | grep -q 'status: NOERROR' && break
        sleep 0.5
    done
done
HPORT="$(free_port)"
start_testbed_serve ca 300 "$WORK/serve.out" "$WORK/serve.err" \
    "$BIN0" "$U" --dns "127.0.0.1:$(free_port)" --https "127.0.0.1:$HPORT" || true
SERVE=$SERVE_PID
PIDS+=("$SERVE")
CA="$(awk '/^ca /{print $2}' "$WORK/serve.out")"
# Without the policy server every MTA-STS fetch fails at connect, and the
# crawl does less work than it should: that is not a run to compare.
POLICY_HOST="$(find "$U/policies" -mindepth 1 -maxdepth 1 -name 'mta-sts.*' -printf '%f\n' -quit)"
serve_alive() {
    if kill -0 "$SERVE" 2>/dev/null && [[ -n "$CA" ]] &&
        curl -sf --max-time 5 --cacert "$CA" --resolve "$POLICY_HOST:$HPORT:127.0.0.1" \
            "https://$POLICY_HOST:$HPORT/.well-known/mta-sts.txt" >/dev/null; then
        return
    fi
    log "the testbed HTTPS server does not serve $POLICY_HOST on port $HPORT; serve.out, serve.err:"
    cat "$WORK/serve.out" "$WORK/serve.err" >&2
    exit 1
}
serve_alive

# dnsperf reference: the per-domain mix over the sample (own TXT, MX, _dmarc,
# _mta-sts, _smtp._tls, default._bimi, NS).
awk '{d=$1; print d" TXT"; print d" MX"; print "_dmarc."d" TXT"; print "_mta-sts."d" TXT"; print "_smtp._tls."d" TXT"; print "default._bimi."d" TXT"; print d" NS"}' "$WORK/sample.txt" >"$WORK/queries.txt"
NQ="$(wc -l <"$WORK/queries.txt")"
k0="$(cpu_ticks "$KNOT")"
dnsperf -s 127.0.0.1 -p "$KPORT" -d "$WORK/queries.txt" -c 1 -T 1 -n 1 -q 100 -Q 500000 >"$WORK/dnsperf.txt" 2>&1 || true
k1="$(cpu_ticks "$KNOT")"
qps="$(awk '/Queries per second/{print $4}' "$WORK/dnsperf.txt")"
log "dnsperf -q 100 over $NQ queries: $qps q/s, Knot $(python3 -c "print(round(($k1-$k0)/$TCK*1e6/$NQ,2))") µs/q"

: >"$WORK/runs.txt"
for r in $(seq 1 "$ROUNDS"); do
    for bin in "$@"; do
        serve_alive
        rm -rf "$WORK/snap"
        k0="$(cpu_ticks "$KNOT")"; h0="$(cpu_ticks "$SERVE")"
        env ${CPU_ENV:-} /usr/bin/time -f '%e %U %S %M' -o "$WORK/time.txt" ${CPU_WRAP:-} "$bin" crawl --resolver "127.0.0.1:$KPORT" \
            --out "$WORK/snap" --snapshot s --no-progress --ca-file "$CA" --mta-sts-port "$HPORT" \
            --concurrency "${CPU_CONCURRENCY:-2048}" "$WORK/sample.txt" 2>"$WORK/crawl.err" || { tail -3 "$WORK/crawl.err" >&2; }
        k1="$(cpu_ticks "$KNOT")"; h1="$(cpu_ticks "$SERVE")"
        sent="$(grep -o 'sent: [0-9]*' "$WORK/crawl.err" | head -1 | awk '{print $2}')"
        to="$(grep -o 'timeouts: [0-9]*' "$WORK/crawl.err" | head -1 | awk '{print $2}')"
        read -r wall user sys rss <"$WORK/time.txt"
        PYTHONPATH="$ROOT/benches" python3 - "$r" "$bin" "$wall" "$user" "$sys" "$rss" "$sent" "$to" "$((k1 - k0))" "$TCK" "$WORK/runs.txt" "$((h1 - h0))" "$WORK/snap" <<'EOF'
import sys
r, b, wall, user, sys_, rss, sent, to, kt, tck = sys.argv[1:11]
ht = int(sys.argv[12])
# The steady rate (benches/steady.py): a run's wall time ends with its
# slowest domain, and the universe plants a policy host that hangs until the
# 20 s fetch deadline.
steady = ""
try:
    from steady import steady as steady_of
    _, qs, span = steady_of(sys.argv[13])
    if span:
        steady = f" (steady {qs / span:,.0f} q/s)"
except Exception as e:  # no duckdb module, or no snapshot
    steady = f" (no steady rate: {type(e).__name__})"
wall, user, sys_, sent, kt = float(wall), float(user), float(sys_), int(sent or 0), int(kt)
q = max(1, sent)
print(f"round {r} {b}: wall {wall:.2f} s, {sent} queries, {sent/wall:,.0f} q/s{steady}, crawler {(user+sys_)*1e6/q:.1f} µs/q (user {user*1e6/q:.1f}, sys {sys_*1e6/q:.1f}), Knot {kt/int(tck)*1e6/q:.1f} µs/q, policy server {ht/int(tck)*1e6/q:.1f} µs/q, timeouts {to}, max RSS {int(rss)/1024:.0f} MiB")
with open(sys.argv[11], "a") as f:
    f.write(f"{b}\t{(user+sys_)*1e6/q:.3f}\n")
EOF
    done
done
# The figure to compare: per binary, the median crawler µs/query of the rounds.
python3 - "$WORK/runs.txt" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    b, v = line.rstrip("\n").split("\t")
    runs.setdefault(b, []).append(float(v))
for b, v in runs.items():
    print(f"median {b}: crawler {statistics.median(v):.2f} µs/q over {len(v)} rounds (min {min(v):.1f}, max {max(v):.1f})")
EOF
