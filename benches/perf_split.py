#!/usr/bin/env python3
"""Splits a crawl profile by owner: each sample goes to the innermost frame
of its stack that belongs to one of authcensus's parts (the DNS engine's
send, receive and query paths, the writer, the record layer, ...); tokio,
futures, the allocator and the kernel frames below such a frame count for
it. Samples with no such frame count as "tokio_runtime" (the event loop,
parking, spawning) or "other".

    CPU_WRAP="perf record -F 499 --call-graph dwarf,16384 -e cpu-clock -o /tmp/p.data --" \\
        benches/cpu.sh                      # one profiled crawl (benches/README.md)
    perf script -i /tmp/p.data --no-inline -F comm,ip,sym >/tmp/p.txt
    benches/perf_split.py /tmp/p.txt [CPU_US_PER_QUERY]

With the crawler's CPU per query (cpu.sh prints it) each share is also
given in microseconds per query.
"""

import collections
import sys

# (category, substrings of a frame's symbol), checked in this order for
# each frame from the leaf up.
CATEGORIES = [
    ("dns_send", ["udp::send_loop", "send_batch"]),
    ("dns_recv", ["udp::receive_loop", "Socket::deliver"]),
    ("dns_query", ["authcensus_dns::"]),
    ("writer", ["authcensus_store::", "parquet::", "arrow", "write_rows"]),
    ("cache", ["quick_cache", "CachingResolver", "DomainDns", "spf_memo"]),
    ("mta_sts_fetch", ["hyper", "rustls", "reqwest", "authcensus_crawl::fetch"]),
    ("records", ["authcensus_records::"]),
    ("crawl_domain", ["crawl_domain"]),
    ("lanes", ["authcensus_crawl::lanes"]),
    ("crawl_other", ["authcensus_crawl::"]),
    ("input", ["authcensus_input", "read_input"]),
]


def samples(path):
    """Yields each sample's frames, leaf first."""
    stack = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("\t"):
                if stack:
                    yield stack
                stack = []
                continue
            parts = line.strip().split(None, 1)
            if len(parts) > 1:
                stack.append(parts[1])
    if stack:
        yield stack


def owner(stack):
    for frame in stack:
        for name, keys in CATEGORIES:
            if any(k in frame for k in keys):
                return name
    if any("tokio::" in f for f in stack):
        return "tokio_runtime"
    return "other"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    per_query = float(sys.argv[2]) if len(sys.argv) > 2 else None
    counts = collections.Counter(owner(s) for s in samples(sys.argv[1]))
    total = sum(counts.values())
    if not total:
        sys.exit("no samples")
    print(f"{total} samples")
    for name, n in counts.most_common():
        share = n / total
        extra = f"  {share * per_query:5.2f} µs/query" if per_query else ""
        print(f"{100 * share:6.2f} %  {name}{extra}")


if __name__ == "__main__":
    main()
