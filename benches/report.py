#!/usr/bin/env python3
"""Table and JSON of one benches/e2e.sh run.

usage: report.py METRICS_ENV MIX_JSON RESULT_JSON CLK_TCK
"""
import json
import os
import platform
import subprocess
import sys


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:  # noqa: BLE001 - machine info is best effort
        return ""


def main():
    metrics_path, mix_path, result_path, tck = sys.argv[1:5]
    m = {}
    for line in open(metrics_path):
        k, _, v = line.strip().partition("=")
        if not k:
            continue
        if k == "given_rev":
            m[k] = v
            continue
        try:
            m[k] = float(v)
        except ValueError:
            m[k] = v
    mix = json.load(open(mix_path)) if os.path.exists(mix_path) else {}

    def g(k, d=0.0):
        v = m.get(k, d)
        return v if isinstance(v, float) else d

    rows = {}
    for name in ("knot", "unbound", "qps", "latency"):
        if f"{name}_wall_s" not in m:
            continue
        wall = g(f"{name}_wall_s")
        dom = g(f"{name}_rows")
        q = g(f"{name}_dns_queries")
        cpu = g(f"{name}_user_s") + g(f"{name}_sys_s")
        r = {
            "domains": dom,
            "error_rows": g(f"{name}_error_rows"),
            "wall_s": wall,
            "domains_per_s": dom / wall if wall else 0,
            "queries": q,
            "queries_per_s": q / wall if wall else 0,
            "cpu_user_s": g(f"{name}_user_s"),
            "cpu_sys_s": g(f"{name}_sys_s"),
            "cpu_s_per_1000_domains": cpu / dom * 1000 if dom else 0,
            "cpu_us_per_query": cpu / q * 1e6 if q else 0,
            "peak_rss_mb": g(f"{name}_rss_kb") / 1024,
            "parquet_bytes_per_domain": g(f"{name}_parquet_bytes") / dom if dom else 0,
            "knot_cpu_s": g(f"{name}_knot_cpu_s"),
            "knot_cpu_us_per_query": g(f"{name}_knot_cpu_s") / q * 1e6 if q else 0,
            "concurrency": g(f"{name}_concurrency"),
        }
        span = g(f"{name}_steady_span_s")
        if span:
            # Between the 5th and 95th percentile of crawled_at (e2e.sh).
            r["steady_domains_per_s"] = g(f"{name}_steady_rows") / span
            r["steady_queries_per_s"] = g(f"{name}_steady_dns_queries") / span
        dns = {k2[len(name) + 5:]: v for k2, v in m.items() if k2.startswith(f"{name}_dns_") and k2 != f"{name}_dns_queries"}
        if dns:
            r["dns_engine"] = dns
            if wall and dns.get("received"):
                # Little's law: queries outstanding on average = rate x latency;
                # meaningful for the fixed-latency run.
                r["mean_queries_outstanding_at_50ms"] = dns["received"] / wall * 0.05
        if name == "unbound":
            r["unbound_cpu_s"] = g("unbound_unbound_cpu_s")
        if name == "latency":
            r["server_cpu_s"] = g("latency_server_cpu_s")
        rows[name] = r

    dnsperf_qps = g("dnsperf_best_qps")
    cd = None
    if "checkdmarc_wall_s" in m:
        w = g("checkdmarc_wall_s")
        n = g("checkdmarc_domains")
        cpu = g("checkdmarc_user_s") + g("checkdmarc_sys_s")
        cd = {
            "domains": n,
            "domains_in_output": g("checkdmarc_out_domains"),
            "wall_s": w,
            "domains_per_s": n / w if w else 0,
            "cpu_s_per_1000_domains": cpu / n * 1000 if n else 0,
            "peak_rss_mb": g("checkdmarc_rss_kb") / 1024,
            "knot_cpu_s": g("checkdmarc_knot_ticks") / float(tck),
        }

    k = rows.get("knot", {})
    ratios = {}
    if k and dnsperf_qps:
        ratios["crawler_vs_dnsperf_queries_per_s"] = k["queries_per_s"] / dnsperf_qps
    if k and cd and cd["domains_per_s"]:
        ratios["crawler_vs_checkdmarc_domains_per_s"] = k["domains_per_s"] / cd["domains_per_s"]
    if k and k.get("queries"):
        # Knot alone could answer the crawl's queries in (knot µs/query × queries) of one core.
        best_tag = m.get("dnsperf_best_tag") or f"q{int(g('dnsperf_best_q'))}"
        ratios["knot_cpu_us_per_query_dnsperf"] = g(f"dnsperf_{best_tag}_knot_cpu_us_per_query")
        ratios["dnsperf_client_cpu_us_per_query"] = g(f"dnsperf_{best_tag}_client_cpu_us_per_query")
        ratios["crawl_cpu_share_of_two_cores"] = (k["cpu_user_s"] + k["cpu_sys_s"]) / (2 * k["wall_s"])
        ratios["knot_cpu_share_of_two_cores"] = k["knot_cpu_s"] / (2 * k["wall_s"])
    if "qps" in rows:
        ratios["qps_asked"] = g("qps_asked")
        ratios["qps_achieved"] = rows["qps"]["queries_per_s"]

    print()
    print(f"authcensus e2e benchmark, {int(g('domains'))} domains, {sh('nproc')} cores")
    threads = 2 if m.get("dnsperf_best_tag") == "t2" else 1
    print(
        f"dnsperf ceiling (Knot, 1 UDP worker): {dnsperf_qps:,.0f} queries/s (best of -q {m.get('dnsperf_q_settings', '')}"
        f" with 1 thread and 2 threads at the best -q; at -q {int(g('dnsperf_best_q'))}, {threads} thread(s))"
    )
    if ratios.get("dnsperf_client_cpu_us_per_query"):
        print(
            f"  dnsperf's own CPU {ratios['dnsperf_client_cpu_us_per_query']:.2f} µs/query, Knot's"
            f" {ratios.get('knot_cpu_us_per_query_dnsperf', 0):.2f} µs/query"
        )
    hdr = f"{'run':<22}{'domains/s':>11}{'queries/s':>11}{'CPU s/1k dom':>13}{'µs CPU/q':>10}{'peak RSS MB':>12}{'Parquet B/dom':>14}"
    print(hdr)
    print("-" * len(hdr))
    labels = {
        "knot": "crawl -> Knot",
        "unbound": "crawl -> Unbound->Knot",
        "qps": "crawl --qps 5000",
        "latency": "crawl, 50 ms latency",
    }
    for name, r in rows.items():
        print(
            f"{labels[name]:<22}{r['domains_per_s']:>11,.0f}{r['queries_per_s']:>11,.0f}"
            f"{r['cpu_s_per_1000_domains']:>13.3f}{r['cpu_us_per_query']:>10.1f}{r['peak_rss_mb']:>12.1f}"
            f"{r['parquet_bytes_per_domain']:>14.1f}"
        )
    if cd:
        print(
            f"{'checkdmarc (200)':<22}{cd['domains_per_s']:>11,.2f}{'':>11}{cd['cpu_s_per_1000_domains']:>13.1f}"
            f"{'':>10}{cd['peak_rss_mb']:>12.1f}{'':>14}"
        )
    for name, r in rows.items():
        d = r.get("dns_engine")
        if d:
            print(
                f"{labels[name]}: sent {d.get('sent', 0):,.0f}, timeouts {d.get('timeouts', 0):,.0f}, "
                f"window shrinks {d.get('window_shrinks', 0):,.0f}, outstanding peak {d.get('outstanding_peak', 0):,.0f}"
            )
    for name, r in rows.items():
        if "steady_domains_per_s" in r:
            print(
                f"{labels[name]}: steady rate (rows between the 5th and 95th percentile of crawled_at): "
                f"{r['steady_domains_per_s']:,.0f} domains/s, {r['steady_queries_per_s']:,.0f} queries/s"
            )
    if "latency" in rows:
        print(f"latency run: mean queries outstanding (received/s x 50 ms): {rows['latency'].get('mean_queries_outstanding_at_50ms', 0):,.0f}")
    for key, v in ratios.items():
        print(f"{key}: {v:.3f}")

    versions = {
        "knot": sh("knotd --version"),
        "unbound": sh("unbound -V | head -1"),
        "dnsperf": sh("dpkg-query -W -f '${Version}' dnsperf"),
        "checkdmarc": str(m.get("checkdmarc_version", "")),
        "authcensus_git_rev": str(m.get("given_rev", "")) or sh("git rev-parse HEAD"),
        "authcensus_git_dirty": False if m.get("given_rev") else bool(sh("git status --porcelain --untracked-files=no")),
        "rustc": sh("rustc --version"),
        "build_profile": str(m.get("build_profile", "release")),
    }
    cpu_model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out = {
        "date_utc": sh("date -u +%FT%TZ"),
        "machine": {
            "nproc": int(sh("nproc") or 0),
            "cpu_model": cpu_model,
            "kernel": platform.release(),
            "mem_total_kb": int((sh("awk '/MemTotal/{print $2}' /proc/meminfo") or "0")),
            "loadavg_at_end": sh("cat /proc/loadavg"),
        },
        "versions": versions,
        "domains": g("domains"),
        "query_mix_per_domain": mix,
        "dnsperf": {k2: v for k2, v in m.items() if k2.startswith("dnsperf_")},
        "runs": rows,
        "checkdmarc": cd,
        "ratios": ratios,
        "raw": m,
    }
    with open(result_path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
