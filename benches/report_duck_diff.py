#!/usr/bin/env python3
"""DuckDB computing everything `authcensus diff` computes, for benches/report.sh.

usage: report_duck_diff.py OLD_DIR NEW_DIR [DIFF_JSON]

Same outputs as the diff: presence counts, the three transition matrices,
provider attribution (top 100 per provider kind and dimension), the number
of changed domains and the first 100 by name. The joined rows are
materialised once as a temporary table, as an analyst would, and queried
for each output. With DIFF_JSON (`authcensus diff --format json`), every
output is compared with authcensus's and a mismatch exits 1, so the
benchmark also cross-checks the two engines.
"""
import json
import sys

import duckdb

old, new = sys.argv[1], sys.argv[2]
DIMS = {
    "dmarc": "CASE WHEN dmarc_status = 'valid' THEN coalesce(dmarc_effective_policy, '(unknown)') ELSE '(' || dmarc_status || ')' END",
    "spf": "CASE WHEN spf_status = 'valid' THEN coalesce(spf_all, '(no all)') ELSE '(' || spf_status || ')' END",
    "mta_sts": "CASE WHEN mta_sts_status = 'valid' THEN coalesce(mta_sts_mode, '(unknown)') ELSE '(' || mta_sts_status || ')' END",
}
LIMIT = 100


def side(path):
    labels = ", ".join(f"{sql} AS {d}" for d, sql in DIMS.items())
    return (
        f"SELECT domain, {labels}, coalesce(dns_provider, '(unknown)') AS dns_provider, "
        "coalesce(mx_provider, CASE WHEN mx_null OR coalesce(len(mx_exchanges), 0) = 0 "
        "THEN '(no mx)' ELSE '(unknown)' END) AS mailbox_provider "
        f"FROM read_parquet('{path}/*.parquet')"
    )


con = duckdb.connect()
cols = ", ".join(f"o.{d} AS {d}_old, n.{d} AS {d}_new" for d in DIMS)
con.execute(
    "CREATE TEMP TABLE d AS SELECT coalesce(n.domain, o.domain) AS domain, "
    "CASE WHEN o.domain IS NULL THEN 'appeared' WHEN n.domain IS NULL THEN 'disappeared' ELSE 'common' END AS presence, "
    f"{cols}, coalesce(n.dns_provider, o.dns_provider) AS dns_provider, "
    "coalesce(n.mailbox_provider, o.mailbox_provider) AS mailbox_provider "
    f"FROM ({side(old)}) o FULL OUTER JOIN ({side(new)}) n ON o.domain = n.domain"
)
out = {"presence": dict(con.sql("SELECT presence, count(*) FROM d GROUP BY 1").fetchall())}
out["matrix"], out["attribution"] = {}, []
for d in DIMS:
    out["matrix"][d] = sorted(
        [list(r) for r in con.sql(
            f"SELECT {d}_old, {d}_new, count(*) FROM d WHERE presence = 'common' GROUP BY 1, 2"
        ).fetchall()]
    )
    for by in ("dns_provider", "mailbox_provider"):
        for r in con.sql(
            f"SELECT {by}, {d}_old, {d}_new, count(*) AS c FROM d WHERE presence = 'common' "
            f"AND {d}_old <> {d}_new GROUP BY 1, 2, 3 ORDER BY c DESC, 1, 2, 3 LIMIT {LIMIT}"
        ).fetchall():
            out["attribution"].append([by, d, *r])
changed = " OR ".join(f"{d}_old IS DISTINCT FROM {d}_new" for d in DIMS)
where = f"presence <> 'common' OR {changed}"
out["changes_total"] = con.sql(f"SELECT count(*) FROM d WHERE {where}").fetchall()[0][0]
out["first"] = [r[0] for r in con.sql(f"SELECT domain FROM d WHERE {where} ORDER BY domain LIMIT {LIMIT}").fetchall()]

if len(sys.argv) > 3:
    with open(sys.argv[3]) as f:
        ours = json.load(f)
    theirs = {
        "presence": {k: v for k, v in (("common", ours["common"]), ("appeared", ours["appeared"]), ("disappeared", ours["disappeared"])) if v},
        "matrix": {dd["dimension"]: sorted([t["from"], t["to"], t["count"]] for t in dd["matrix"]) for dd in ours["dimensions"]},
        "attribution": [[a["by"], a["dimension"], a["provider"], a["from"], a["to"], a["count"]] for a in ours["attribution"]],
        "changes_total": ours["changes_total"],
        "first": [c["domain"] for c in ours["changes"]],
    }
    bad = [k for k in out if out[k] != theirs[k]]
    if bad:
        for k in bad:
            print(f"MISMATCH {k}: duckdb {str(out[k])[:300]} authcensus {str(theirs[k])[:300]}", file=sys.stderr)
        sys.exit(1)
    print("duckdb and authcensus diff agree on every output", file=sys.stderr)
print(json.dumps({k: out[k] for k in ("presence", "changes_total")}))
