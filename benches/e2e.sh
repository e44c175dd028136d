#!/usr/bin/env bash
# End-to-end benchmark of `authcensus crawl`, side by side with dnsperf (the
# ceiling of the authoritative server), Unbound in front of Knot, and
# checkdmarc, all in one run on this machine, loopback only.
#
#   benches/e2e.sh [N_DOMAINS]        # default 1000000; 100000 is the quick run
#
# Environment knobs (all optional):
#   BENCH_WORK=DIR        work directory (default: a fresh mktemp dir, deleted at exit
#                         unless BENCH_KEEP=1)
#   BENCH_CONCURRENCY=N   crawler --concurrency for the Knot and --qps runs (default 64: against
#                         loopback Knot, 64 domains in flight cost 11-13 % less CPU per query than
#                         512 and finished 1M domains 4-6 % sooner, interleaved, 2026-12-06)
#   BENCH_UNBOUND_CONCURRENCY=N  --concurrency of the run through Unbound (default 512)
#   BENCH_LATENCY_CONCURRENCY=N  --concurrency of the 50 ms latency run (default 4096; with
#                                --window-max 16384 it reached 19,300-21,600 domains/s against
#                                18,200-18,400 at 2048 and 8192, 2026-12-07; 8,192 domains cost
#                                ~30 % more CPU per query, 2026-12-05)
#   BENCH_LATENCY_WINDOW_MAX=N   --window-max of the 50 ms latency run (default 16384, the most
#                                the CLI takes: at 8192 the window was full, ~250,000 waits)
#   BENCH_DNSPERF_Q="20 100 500"  dnsperf -q settings tried with one client thread, then two
#                         threads at the best of them (the best run is the reference)
#   BENCH_DNSPERF_SECS=15 dnsperf -l per setting
#   BENCH_BIN=PATH, BENCH_REV=REV  run this authcensus binary instead of building one (an A/B of
#                         builds kept from earlier); REV, the revision it was built from, goes
#                         into the JSON instead of this tree's
#   BENCH_SKIP_CHECKDMARC=1, BENCH_SKIP_UNBOUND=1, BENCH_SKIP_LATENCY=1, BENCH_SKIP_QPS=1
#   BENCH_PROFILE=P       cargo profile of the crawler (default release-lto: fat LTO, one codegen
#                         unit, ~25 min to build from nothing on 2 cores; `release` for a quick run;
#                         `pgo`: release-lto with profile-guided optimisation, scripts/build-pgo,
#                         ~55 min: 5 % less crawler CPU per query, benches/README.md 2026-12-07)
#
# Requires: knotd/knotc/kdig, unbound, dnsperf, /usr/bin/time (Debian `time`),
# python3 with duckdb, checkdmarc (pip), util-linux `unshare` + iproute2 `ip`
# (the checkdmarc run needs root: see benches/README.md).
# Writes benches/results/<date>-<N>.json and prints one table.
set -euo pipefail

N="${1:-1000000}"
[[ "$N" =~ ^[0-9]+$ ]] || { echo "usage: benches/e2e.sh [N_DOMAINS]" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Preflight, before the build: a run whose tool is missing stops the script
# here instead of leaving a silent gap in the table and the JSON (skip a run
# on purpose with its BENCH_SKIP_* flag).
missing=()
for t in knotd knotc kdig unbound unbound-checkconf dnsperf python3 /usr/bin/time; do
    command -v "$t" >/dev/null || missing+=("$t")
done
python3 -c 'import duckdb' 2>/dev/null || missing+=("python3 module duckdb (pip install duckdb)")
if [[ -z "${BENCH_SKIP_CHECKDMARC:-}" ]]; then
    command -v checkdmarc >/dev/null || missing+=("checkdmarc (pip install checkdmarc==6.0.4, or BENCH_SKIP_CHECKDMARC=1)")
    for t in unshare ip; do command -v "$t" >/dev/null || missing+=("$t (for the checkdmarc run)"); done
fi
if ((${#missing[@]})); then
    printf 'e2e: missing: %s\n' "${missing[@]}" >&2
    exit 2
fi
CONC="${BENCH_CONCURRENCY:-64}"
UCONC="${BENCH_UNBOUND_CONCURRENCY:-512}"
PROFILE="${BENCH_PROFILE:-release-lto}"
DNSPERF_Q="${BENCH_DNSPERF_Q:-20 100 500}"
DNSPERF_SECS="${BENCH_DNSPERF_SECS:-15}"
if [[ -n "${BENCH_WORK:-}" ]]; then WORK="$BENCH_WORK"; mkdir -p "$WORK"; else WORK="$(mktemp -d /tmp/authcensus-bench.XXXXXX)"; fi
METRICS="$WORK/metrics.env"
: >"$METRICS"
PIDS=()

cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [[ -z "${BENCH_KEEP:-}" && -z "${BENCH_WORK:-}" ]]; then
        rm -rf "$WORK"
    else
        echo "e2e: work directory kept: $WORK" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "e2e [$(date -u +%H:%M:%S)]: $*" >&2; }
metric() { echo "$1=$2" >>"$METRICS"; }
# free_port, cpu_ticks, TCK, write_knot_conf
source "$ROOT/benches/lib.sh"
wait_dns() { # PORT NAME TYPE SECONDS
    local i
    for ((i = 0; i < $4 * 2; i++)); do
        if kdig @127.0.0.1 -p "$1" "$2" "$3" +timeout=1 +retry=0 2>/dev/null | grep -q 'status: NOERROR'; then return 0; fi
        sleep 0.5
    done
    echo "e2e: no DNS answer on 127.0.0.1:$1 after $4 s" >&2
    return 1
}
# /usr/bin/time -v output -> metrics with a prefix.
time_metrics() { # FILE PREFIX
    python3 - "$1" "$2" >>"$METRICS" <<'EOF'
import sys
f, p = sys.argv[1], sys.argv[2]
d = {}
for line in open(f):
    k, _, v = line.strip().rpartition(": ")
    d[k] = v
w = d.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "0:0")
secs = 0.0
for part in w.split(":"):
    secs = secs * 60 + float(part)
print(f"{p}_wall_s={secs}")
print(f"{p}_user_s={d.get('User time (seconds)', 0)}")
print(f"{p}_sys_s={d.get('System time (seconds)', 0)}")
print(f"{p}_rss_kb={d.get('Maximum resident set size (kbytes)', 0)}")
EOF
}
# Sum of dns_queries, rows and Parquet bytes of a snapshot directory.
snap_metrics() { # OUTDIR PREFIX
    PYTHONPATH="$ROOT/benches" python3 - "$1" "$2" >>"$METRICS" <<'EOF'
import sys, glob, os, duckdb
from steady import steady
out, p = sys.argv[1], sys.argv[2]
files = glob.glob(os.path.join(out, "snapshot=*", "*.parquet"))
q = duckdb.sql(f"select count(*), coalesce(sum(dns_queries),0), count(*) filter (where domain_status='error') from read_parquet({files!r})").fetchall()[0]
print(f"{p}_rows={q[0]}")
print(f"{p}_dns_queries={q[1]}")
print(f"{p}_error_rows={q[2]}")
print(f"{p}_parquet_bytes={sum(os.path.getsize(f) for f in files)}")
# Steady rate (benches/steady.py): the run without its ramp-up and tail.
s = steady(out)
if s[2]:
    print(f"{p}_steady_rows={s[0]}")
    print(f"{p}_steady_dns_queries={s[1]}")
    print(f"{p}_steady_span_s={s[2]}")
EOF
}

# ---------------------------------------------------------------- build
if [[ -n "${BENCH_BIN:-}" ]]; then
    [[ -x "$BENCH_BIN" ]] || { echo "e2e: BENCH_BIN=$BENCH_BIN is not an executable" >&2; exit 2; }
    [[ -n "${BENCH_REV:-}" ]] || { echo "e2e: BENCH_BIN needs BENCH_REV (the revision it was built from)" >&2; exit 2; }
    log "using $BENCH_BIN (built from $BENCH_REV), no build"
    BIN="$BENCH_BIN"
    PROFILE="given"
    echo "given_rev=$BENCH_REV" >>"$METRICS"
elif [[ "$PROFILE" == pgo ]]; then
    log "scripts/build-pgo (release-lto with profile-guided optimisation)"
    BIN="$("$ROOT/scripts/build-pgo")"
else
    log "cargo build --profile $PROFILE -p authcensus"
    BIN="$(build_authcensus "$PROFILE")"
fi
echo "build_profile=$PROFILE" >>"$METRICS"

# ---------------------------------------------------------------- universe
U="$WORK/universe"
REALWORLD="$ROOT/../shared/data/realworld"
if [[ ! -f "$U/domains.txt" ]]; then
    log "testbed generate --domains $N"
    /usr/bin/time -v -o "$WORK/time-generate.txt" "$BIN" testbed generate --domains "$N" --seed 1 --out "$U" --realworld "$REALWORLD" >&2
    time_metrics "$WORK/time-generate.txt" generate
fi
DOMAINS="$U/domains.txt"
NDOM="$(grep -cv '^\s*\(#\|$\)' "$DOMAINS" || true)"
metric domains "$NDOM"
mapfile -t ZONES < <(cd "$U/zones" && ls -- *.zone | sed 's/\.zone$//')
log "universe: $NDOM domains, ${#ZONES[@]} zones (${ZONES[*]:0:12})"

# ---------------------------------------------------------------- Knot
KPORT="$(free_port)"
write_knot_conf "$WORK/knot.conf" "$WORK/knot" "127.0.0.1@$KPORT"
log "knotd on 127.0.0.1:$KPORT (1 UDP worker)"
knotd -c "$WORK/knot.conf" 2>"$WORK/knotd.err" &
KNOT_PID=$!
PIDS+=("$KNOT_PID")
wait_dns "$KPORT" "${ZONES[0]}." SOA 600
# Zones load in the background: wait for the last one too.
wait_dns "$KPORT" "${ZONES[-1]}." SOA 600
sleep 1

# MTA-STS policies: `testbed serve` answers HTTPS (its DNS port is unused by the crawls against Knot).
HPORT="$(free_port)"
start_testbed_serve ca 300 "$WORK/serve.out" "$WORK/serve.err" \
    "$BIN" "$U" --dns "127.0.0.1:$(free_port)" --https "127.0.0.1:$HPORT" || true
PIDS+=("$SERVE_PID")
CA="$(awk '/^ca /{print $2}' "$WORK/serve.out")"
[[ -n "$CA" ]] || { echo "e2e: testbed serve did not start" >&2; cat "$WORK/serve.err" >&2; exit 1; }

# ---------------------------------------------------------------- query mix
# The exact queries the crawler sends: a sample crawl through a logging Unbound
# (log-queries records every client query, i.e. every crawler cache miss).
UNB_BIN="$(command -v unbound)"
write_unbound_conf() { # CONF DIR PORT LOGQUERIES
    local conf="$1" dir="$2" port="$3"
    mkdir -p "$dir"
    {
        echo "server:"
        echo "    interface: 127.0.0.1"
        echo "    port: $port"
        echo "    do-ip6: no"
        echo "    num-threads: 1"
        echo "    module-config: \"iterator\""
        echo "    do-not-query-localhost: no"
        echo "    username: \"\""
        echo "    chroot: \"\""
        echo "    directory: \"$dir\""
        echo "    pidfile: \"$dir/unbound.pid\""
        echo "    use-syslog: no"
        echo "    logfile: \"$dir/unbound.log\""
        echo "    log-queries: $4"
        echo "    verbosity: 0"
        echo "    access-control: 127.0.0.0/8 allow"
        echo "    msg-cache-size: 64m"
        echo "    rrset-cache-size: 128m"
        echo "    num-queries-per-thread: 4096"
        echo "    outgoing-range: 8192"
        echo "    qname-minimisation: no"
        echo "    harden-referral-path: no"
        echo "    aggressive-nsec: no"
        echo "    prefetch: no"
        echo "    so-rcvbuf: 4m"
        for z in "${ZONES[@]}"; do echo "    local-zone: \"$z.\" nodefault"; done
        for z in "${ZONES[@]}"; do
            echo "stub-zone:"
            echo "    name: \"$z.\""
            echo "    stub-addr: 127.0.0.1@$KPORT"
        done
    } >"$conf"
}
SAMPLE_N=$(( NDOM < 5000 ? NDOM : 5000 ))
# An evenly spread sample (every k-th domain) keeps the mix representative.
sample() { # COUNT OUT
    awk -v n="$NDOM" -v c="$1" 'BEGIN{k=int(n/c); if(k<1)k=1} /^[ \t]*(#|$)/{next} {i++; if((i-1)%k==0 && o<c){print; o++}}' "$DOMAINS" >"$2"
}
sample "$SAMPLE_N" "$WORK/sample.txt"
LPORT_U="$(free_port)"
write_unbound_conf "$WORK/unbound-log.conf" "$WORK/unbound-log" "$LPORT_U" yes
# Unbound appends to its log: a reused BENCH_WORK must not count an earlier
# run's queries in the mix.
rm -f "$WORK/unbound-log/unbound.log"
unbound-checkconf "$WORK/unbound-log.conf" >&2
"$UNB_BIN" -d -c "$WORK/unbound-log.conf" 2>>"$WORK/unbound-log.err" &
UL_PID=$!
PIDS+=("$UL_PID")
wait_dns "$LPORT_U" "${ZONES[0]}." SOA 60
log "query mix: sample crawl of $SAMPLE_N domains through a logging Unbound"
# A reused BENCH_WORK keeps the last run's snapshot, which the crawl would
# resume (every domain skipped, no query logged).
rm -rf "$WORK/snap-mix"
timeout 900 "$BIN" crawl --resolver "127.0.0.1:$LPORT_U" --out "$WORK/snap-mix" --snapshot mix --concurrency 256 \
    --no-progress --ca-file "$CA" --mta-sts-port "$HPORT" "$WORK/sample.txt" 2>"$WORK/crawl-mix.err"
kill "$UL_PID"; wait "$UL_PID" 2>/dev/null || true
snap_metrics "$WORK/snap-mix" mix
# "[ts] unbound[pid:0] info: 127.0.0.1 name. TYPE IN" -> "name TYPE"
awk '/ info: 127\.0\.0\.1 / {print $(NF-2), $(NF-1)}' "$WORK/unbound-log/unbound.log" >"$WORK/queries.txt"
MIXQ="$(wc -l <"$WORK/queries.txt")"
# Every domain asks at least TXT, MX and _dmarc: fewer logged queries than
# three per domain means the mix crawl did not run (see crawl-mix.err).
((MIXQ >= 3 * SAMPLE_N)) || { log "query mix: only $MIXQ queries logged for $SAMPLE_N domains: $(tail -1 "$WORK/crawl-mix.err")"; exit 1; }
metric mix_logged_queries "$MIXQ"
python3 - "$WORK/queries.txt" "$SAMPLE_N" >"$WORK/mix.json" <<'EOF'
import sys, json, collections
c = collections.Counter()
for line in open(sys.argv[1]):
    name, t = line.split()
    labels = name.rstrip(".").split(".")
    kind = labels[0] if labels[0].startswith("_") else ("default._bimi" if labels[:2] == ["default", "_bimi"] else "")
    c[f"{t} {kind}".strip()] += 1
n = int(sys.argv[2])
print(json.dumps({k: round(v / n, 3) for k, v in c.most_common()}, indent=1))
EOF
log "query mix (per domain): $(tr -d '\n ' <"$WORK/mix.json")"

# ---------------------------------------------------------------- dnsperf ceiling
# dnsperf_run TAG THREADS Q: one dnsperf run, its metrics under dnsperf_TAG_*
# (q/s, lost, Knot's and dnsperf's own CPU per completed query).
dnsperf_run() {
    local tag="$1" threads="$2" q="$3" k0 k1 qps lost done_q
    log "dnsperf -c $threads -T $threads -q $q -l $DNSPERF_SECS"
    k0="$(cpu_ticks "$KNOT_PID")"
    /usr/bin/time -f '%U %S' -o "$WORK/dnsperf-$tag.time" \
        dnsperf -s 127.0.0.1 -p "$KPORT" -d "$WORK/queries.txt" -c "$threads" -T "$threads" -l "$DNSPERF_SECS" \
        -q "$q" -Q 500000 >"$WORK/dnsperf-$tag.txt" 2>&1 || true
    k1="$(cpu_ticks "$KNOT_PID")"
    qps="$(awk '/Queries per second:/{print $4}' "$WORK/dnsperf-$tag.txt")"
    lost="$(awk '/Queries lost:/{print $3}' "$WORK/dnsperf-$tag.txt")"
    done_q="$(awk '/Queries completed:/{print $3}' "$WORK/dnsperf-$tag.txt")"
    DNSPERF_QPS="${qps:-0}"
    metric "dnsperf_${tag}_qps" "${qps:-0}"
    metric "dnsperf_${tag}_lost" "${lost:-0}"
    metric "dnsperf_${tag}_knot_cpu_us_per_query" "$(python3 -c "print(round(($k1-$k0)/$TCK*1e6/max(1,${done_q:-0}),2))")"
    metric "dnsperf_${tag}_client_cpu_us_per_query" \
        "$(awk -v n="${done_q:-0}" '{printf "%.2f", ($1+$2)*1e6/(n>0?n:1)}' "$WORK/dnsperf-$tag.time")"
}
is_better() { python3 -c "import sys; sys.exit(0 if float('$1') > float('$2') else 1)"; }
# One client thread at each -q, then two threads at the best -q: with one
# thread dnsperf itself can be the bound (its own CPU per query is about
# Knot's on loopback), and the reference to beat is dnsperf at its best.
best=0; bestq=0; besttag=""
for q in $DNSPERF_Q; do
    dnsperf_run "q$q" 1 "$q"
    if is_better "$DNSPERF_QPS" "$best"; then best="$DNSPERF_QPS"; bestq="$q"; besttag="q$q"; fi
done
dnsperf_run t2 2 "$bestq"
if is_better "$DNSPERF_QPS" "$best"; then best="$DNSPERF_QPS"; besttag=t2; fi
metric dnsperf_best_qps "$best"
metric dnsperf_q_settings "${DNSPERF_Q// /,}"
metric dnsperf_best_q "$bestq"
metric dnsperf_best_tag "$besttag"
log "dnsperf best: $best q/s ($besttag, -q $bestq)"

# ---------------------------------------------------------------- crawl against Knot
run_crawl() { # NAME RESOLVER_PORT INPUT EXTRA...
    local name="$1" port="$2" input="$3"; shift 3
    rm -rf "$WORK/snap-$name"
    local k0; k0="$(cpu_ticks "$KNOT_PID")"
    log "crawl $name: --resolver 127.0.0.1:$port $*"
    timeout 3600 /usr/bin/time -v -o "$WORK/time-$name.txt" "$BIN" crawl --resolver "127.0.0.1:$port" \
        --out "$WORK/snap-$name" --snapshot "$name" --no-progress --ca-file "$CA" --mta-sts-port "$HPORT" \
        "$@" "$input" 2>"$WORK/crawl-$name.err" || { log "crawl $name failed: $(tail -3 "$WORK/crawl-$name.err")"; }
    local k1; k1="$(cpu_ticks "$KNOT_PID")"
    local a prev=""
    for a in "$@"; do [[ "$prev" == --concurrency ]] && metric "${name}_concurrency" "$a"; prev="$a"; done
    metric "${name}_knot_cpu_s" "$(python3 -c "print(($k1-$k0)/$TCK)")"
    time_metrics "$WORK/time-$name.txt" "$name"
    snap_metrics "$WORK/snap-$name" "$name"
    # The DNS engine's counters ("authcensus: dns: StatsSnapshot { sent: N, ... }").
    grep -o '^authcensus: dns: .*' "$WORK/crawl-$name.err" | grep -oE '[a-z_]+: [0-9]+' |
        while read -r k v; do metric "${name}_dns_${k%:}" "$v"; done || true
    tail -1 "$WORK/crawl-$name.err" >&2
}
run_crawl knot "$KPORT" "$DOMAINS" --concurrency "$CONC"
# Ground truth at full size: every contract cell of every domain (Knot
# answers the testbed's never-answering names NXDOMAIN: those are left out).
if "$BIN" testbed check --skip-never-answer "$U" "$WORK/snap-knot/snapshot=knot" >"$WORK/truth-knot.txt"; then
    metric knot_truth_exact 1
else
    metric knot_truth_exact 0
fi
log "knot crawl vs ground truth: $(tr '\n' ' ' <"$WORK/truth-knot.txt" | cut -c1-300)"

# ---------------------------------------------------------------- crawl through Unbound
if [[ -z "${BENCH_SKIP_UNBOUND:-}" ]]; then
    UPORT="$(free_port)"
    write_unbound_conf "$WORK/unbound.conf" "$WORK/unbound" "$UPORT" no
    "$UNB_BIN" -d -c "$WORK/unbound.conf" 2>>"$WORK/unbound.err" &
    UNB_PID=$!
    PIDS+=("$UNB_PID")
    wait_dns "$UPORT" "${ZONES[0]}." SOA 60
    u0="$(cpu_ticks "$UNB_PID")"
    run_crawl unbound "$UPORT" "$DOMAINS" --concurrency "$UCONC"
    u1="$(cpu_ticks "$UNB_PID")"
    metric unbound_unbound_cpu_s "$(python3 -c "print(($u1-$u0)/$TCK)")"
    kill "$UNB_PID"; wait "$UNB_PID" 2>/dev/null || true
fi

# ---------------------------------------------------------------- --qps accuracy
if [[ -z "${BENCH_SKIP_QPS:-}" ]]; then
    QN=$(( NDOM < 20000 ? NDOM : 20000 ))
    sample "$QN" "$WORK/qps-input.txt"
    run_crawl qps "$KPORT" "$WORK/qps-input.txt" --concurrency "$CONC" --qps 5000
    metric qps_asked 5000
fi

# ---------------------------------------------------------------- 50 ms injected latency
if [[ -z "${BENCH_SKIP_LATENCY:-}" ]]; then
    LN=$(( NDOM < 50000 ? NDOM : 50000 ))
    sample "$LN" "$WORK/latency-input.txt"
    LDNS="$(free_port)"; LHTTPS="$(free_port)"
    start_testbed_serve ca 300 "$WORK/serve-lat.out" "$WORK/serve-lat.err" \
        "$BIN" "$U" --dns "127.0.0.1:$LDNS" --https "127.0.0.1:$LHTTPS" --latency-ms 50 || true
    LAT_PID=$SERVE_PID
    PIDS+=("$LAT_PID")
    l0="$(cpu_ticks "$LAT_PID")"
    HPORT_SAVE="$HPORT"; HPORT="$LHTTPS"
    CA_SAVE="$CA"; CA="$(awk '/^ca /{print $2}' "$WORK/serve-lat.out")"
    run_crawl latency "$LDNS" "$WORK/latency-input.txt" --concurrency "${BENCH_LATENCY_CONCURRENCY:-4096}" \
        --window-max "${BENCH_LATENCY_WINDOW_MAX:-16384}"
    HPORT="$HPORT_SAVE"; CA="$CA_SAVE"
    l1="$(cpu_ticks "$LAT_PID")"
    metric latency_server_cpu_s "$(python3 -c "print(($l1-$l0)/$TCK)")"
    kill "$LAT_PID"; wait "$LAT_PID" 2>/dev/null || true
fi

# ---------------------------------------------------------------- checkdmarc
# checkdmarc only talks to port 53 and fetches MTA-STS policies through the
# system resolver, so it runs with a second knotd (same config, same zones)
# on 127.0.0.1@53 inside a private network namespace that has only `lo`:
# nothing can leave the machine, and no system port 53 is taken.
if [[ -z "${BENCH_SKIP_CHECKDMARC:-}" ]]; then
    CN=$(( NDOM < 200 ? NDOM : 200 ))
    sample "$CN" "$WORK/checkdmarc-input.txt"
    write_knot_conf "$WORK/knot53.conf" "$WORK/knot53" "127.0.0.1@53"
    metric checkdmarc_version "$(checkdmarc --version 2>&1 | tail -1 | tr ' ' _)"
    log "checkdmarc on $CN domains (knotd on 127.0.0.1@53 in a private netns)"
    timeout 1800 unshare -n bash -c '
        set -u
        ip link set lo up
        knotd -c "$1/knot53.conf" 2>"$1/knotd53.err" &
        kp=$!
        trap "kill $kp 2>/dev/null; wait $kp 2>/dev/null" EXIT
        for i in $(seq 1 1200); do
            kdig @127.0.0.1 "$2." SOA +timeout=1 +retry=0 2>/dev/null | grep -q "status: NOERROR" && break
            sleep 0.5
        done
        kdig @127.0.0.1 "$3." SOA +timeout=1 +retry=0 2>/dev/null | grep -q "status: NOERROR" || sleep 5
        k0=$(awk "{print \$14+\$15}" /proc/$kp/stat)
        /usr/bin/time -v -o "$1/time-checkdmarc.txt" checkdmarc "$1/checkdmarc-input.txt" -n 127.0.0.1 -t 2 --retries 0 \
            -o "$1/checkdmarc.json" 2>"$1/checkdmarc.err" || true
        k1=$(awk "{print \$14+\$15}" /proc/$kp/stat)
        echo "checkdmarc_knot_ticks=$((k1-k0))" >>"$1/metrics.env"
    ' _ "$WORK" "${ZONES[0]}" "${ZONES[-1]}" || log "checkdmarc run failed (needs root for unshare -n and port 53)"
    if [[ -s "$WORK/checkdmarc.json" ]]; then
        time_metrics "$WORK/time-checkdmarc.txt" checkdmarc
        metric checkdmarc_domains "$CN"
        metric checkdmarc_out_domains "$(python3 -c "import json;d=json.load(open('$WORK/checkdmarc.json'));print(len(d) if isinstance(d,list) else 1)" 2>/dev/null || echo 0)"
    fi
fi

# ---------------------------------------------------------------- report
mkdir -p "$ROOT/benches/results"
RESULT="$ROOT/benches/results/$(date -u +%F)-$N.json"
python3 "$ROOT/benches/report.py" "$METRICS" "$WORK/mix.json" "$RESULT" "$TCK"
log "results: $RESULT"
