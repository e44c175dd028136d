# Helpers shared by the benchmark scripts (sourced, not run).

# A free TCP port on 127.0.0.1 (also free for UDP in practice).
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# utime+stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK="$(getconf CLK_TCK)"

# Starts `BIN testbed serve ARGS...` in the background (stdout to OUT,
# stderr to ERR), sets SERVE_PID, and waits up to SECONDS for the line of
# its output that starts with WANT (`dns`, `ca`); returns non-zero if it
# does not come. OUT is removed first: the background child truncates it
# only when it starts, and until then the wait could read the line a
# previous run left there and go on while the server is still loading.
start_testbed_serve() { # WANT SECONDS OUT ERR BIN ARGS...
    local want="$1" secs="$2" out="$3" err="$4" bin="$5" i
    shift 5
    rm -f "$out"
    "$bin" testbed serve "$@" >"$out" 2>"$err" &
    SERVE_PID=$!
    for ((i = 0; i < secs * 10; i++)); do
        grep -q "^$want " "$out" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Builds authcensus with the cargo profile PROFILE (build output on stderr)
# and prints the path of the binary.
build_authcensus() { # PROFILE
    local profile="$1" td
    [[ "$profile" =~ ^[a-z0-9-]+$ ]] || { echo "bench: '$profile' is not a cargo profile name" >&2; return 2; }
    cargo build --profile "$profile" -p authcensus >&2 || return
    td="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')" || return
    echo "$td/$profile/authcensus"
}

# Knot with one UDP, one TCP and one background worker serving every zone
# of the universe: $U/zones/<zone>.zone for each name in the ZONES array
# (both set by the caller). No DNSSEC, no journal.
write_knot_conf() { # CONF DIR LISTEN...
    local conf="$1" dir="$2"; shift 2
    mkdir -p "$dir"
    {
        echo "server:"
        echo "    rundir: \"$dir\""
        for l in "$@"; do echo "    listen: $l"; done
        echo "    udp-workers: 1"
        echo "    tcp-workers: 1"
        echo "    background-workers: 1"
        echo "log:"
        echo "  - target: stderr"
        echo "    any: warning"
        echo "database:"
        echo "    storage: \"$dir\""
        echo "template:"
        echo "  - id: default"
        echo "    storage: \"$U/zones\""
        echo "    semantic-checks: off"
        echo "    journal-content: none"
        echo "    zonefile-sync: -1"
        echo "    zonefile-load: whole"
        echo "    dnssec-signing: off"
        echo "zone:"
        for z in "${ZONES[@]}"; do
            echo "  - domain: \"$z.\""
            echo "    file: \"$z.zone\""
        done
    } >"$conf"
}
