#!/usr/bin/env python3
"""Writes a synthetic snapshot of N rows with the exact snapshot schema
(schema version 1 metadata) using DuckDB, for benches/report.sh.

usage: report_gen.py ROOT SNAPSHOT_ID N MONTH   (MONTH 1 or 2: month 2 changes
~5% of DMARC policies, ~3% of SPF all qualifiers, drops 2% and adds 2% domains)
"""
import os
import sys

import duckdb

root, sid, n, month = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = os.path.join(root, f"snapshot={sid}")
os.makedirs(out, exist_ok=True)
# month 2: rows 0.02n..1.02n, so 2% vanish and 2% appear; h(i, k) is a
# per-row pseudo-random number in 0..999 for decision k
lo, hi = (0, n) if month == 1 else (n // 50, n + n // 50)
flip = "0" if month == 1 else "1"
sql = f"""
COPY (
WITH base AS (
  SELECT i, CAST(hash(i, 1) % 1000 AS BIGINT) AS h1, CAST(hash(i, 2) % 1000 AS BIGINT) AS h2, CAST(hash(i, 3) % 1000 AS BIGINT) AS h3,
         CAST(hash(i, 4) % 1000 AS BIGINT) AS h4, CAST(hash(i, 5) % 1000 AS BIGINT) AS h5, CAST(hash(i, 6) % 1000 AS BIGINT) AS h6,
         CAST(hash(i, 7 + {flip}) % 1000 AS BIGINT) AS hm
  FROM range({lo}, {hi}) t(i)
), sfx AS (
  SELECT *, ['com', 'net', 'org', 'de', 'go.jp', 'co.jp', 'gov', 'fr', 'uk', 'io'][1 + h1 % 10] AS suffix FROM base
)
SELECT
  'd' || i || '.' || suffix AS domain,
  'd' || i || '.' || suffix AS registrable_domain,
  suffix AS public_suffix,
  'bench' AS input_source,
  CASE WHEN h2 < 500 THEN 'list-a' ELSE 'list-b' END AS input_tag,
  CAST(i + 1 AS BIGINT) AS input_rank,
  TIMESTAMPTZ '2026-11-01 00:00:00+00' AS crawled_at,
  CASE WHEN h3 < 20 THEN 'nxdomain' WHEN h3 < 30 THEN 'error' ELSE 'ok' END AS domain_status,
  CASE WHEN h4 < 700 THEN 'v=spf1 include:_spf.example ' || CASE WHEN (h5 + {flip} * (hm < 30)::INT * 500) % 1000 < 400 THEN '-all' ELSE '~all' END END AS spf_record,
  CASE WHEN h4 < 650 THEN 'valid' WHEN h4 < 700 THEN 'permerror' ELSE 'none' END AS spf_status,
  CASE WHEN h4 < 650 THEN CASE WHEN (h5 + {flip} * (hm < 30)::INT * 500) % 1000 < 400 THEN '-all' ELSE '~all' END END AS spf_all,
  CASE WHEN h4 < 700 THEN CAST(h6 % 14 AS INTEGER) END AS spf_dns_lookups,
  CASE WHEN h4 < 700 THEN CAST(0 AS INTEGER) END AS spf_void_lookups,
  CAST([] AS VARCHAR[]) AS spf_errors,
  'answer' AS spf_dns_status,
  CASE WHEN h5 < 500 THEN 'v=DMARC1; p=x' END AS dmarc_record,
  CASE WHEN h5 < 480 THEN 'valid' WHEN h5 < 500 THEN 'invalid' ELSE 'none' END AS dmarc_status,
  CASE WHEN h5 < 480 THEN 'domain' END AS dmarc_source,
  CASE WHEN h5 < 480 THEN 'd' || i || '.' || suffix END AS dmarc_found_at,
  CASE WHEN h5 < 480 THEN ['none', 'quarantine', 'reject'][1 + (h6 + {flip} * (hm < 50)::INT) % 3] END AS dmarc_policy,
  CASE WHEN h5 < 480 AND h2 < 100 THEN 'none' END AS dmarc_subdomain_policy,
  CAST(NULL AS VARCHAR) AS dmarc_nonexistent_policy,
  CASE WHEN h5 < 480 THEN CAST(CASE WHEN h2 % 10 = 0 THEN 50 ELSE 100 END AS INTEGER) END AS dmarc_pct,
  CASE WHEN h5 < 480 THEN ['none', 'quarantine', 'reject'][1 + (h6 + {flip} * (hm < 50)::INT) % 3] END AS dmarc_effective_policy,
  CASE WHEN h5 < 300 THEN ['mailto:dmarc@' || suffix] ELSE CAST([] AS VARCHAR[]) END AS dmarc_rua,
  CAST([] AS VARCHAR[]) AS dmarc_ruf,
  CAST([] AS VARCHAR[]) AS dmarc_errors,
  CAST([] AS VARCHAR[]) AS dmarc_external_unauthorized,
  CAST(NULL AS VARCHAR) AS dmarc_org_domain_treewalk,
  CAST(NULL AS VARCHAR) AS dmarc_org_domain_psl,
  CASE WHEN h5 < 480 THEN 'valid' WHEN h5 < 500 THEN 'invalid' ELSE 'none' END AS dmarc_rfc7489_status,
  CAST(NULL AS VARCHAR) AS dmarc_rfc7489_effective_policy,
  CASE WHEN h6 < 900 THEN ['mx' || (h1 % 7) || '.provider.example'] ELSE CAST([] AS VARCHAR[]) END AS mx_exchanges,
  h6 >= 950 AS mx_null,
  'answer' AS mx_dns_status,
  CASE WHEN h6 < 900 THEN ['google', 'microsoft', 'yahoo', 'proton', 'ovh', 'ionos', NULL][1 + h1 % 7] END AS mx_provider,
  CASE WHEN h2 < 50 THEN 'valid' WHEN h2 < 60 THEN 'policy_fetch_failed' ELSE 'none' END AS mta_sts_status,
  CASE WHEN h2 < 50 THEN ['testing', 'enforce', 'none'][1 + (h3 + {flip} * (hm < 100)::INT) % 3] END AS mta_sts_mode,
  CASE WHEN h2 < 50 THEN h4 < 100 END AS mta_sts_mx_mismatch,
  CAST(NULL AS VARCHAR) AS mta_sts_id,
  CASE WHEN h2 >= 50 AND h2 < 60 THEN 'http_status' END AS mta_sts_fetch_error,
  CASE WHEN h3 < 80 THEN 'valid' ELSE 'none' END AS tlsrpt_status,
  CAST([] AS VARCHAR[]) AS tlsrpt_rua,
  CASE WHEN h3 < 10 THEN 'valid' ELSE 'none' END AS bimi_status,
  CAST(NULL AS VARCHAR) AS bimi_logo_url,
  CAST(NULL AS VARCHAR) AS bimi_authority_url,
  ['ns1.dns' || (h4 % 5) || '.example'] AS ns_hosts,
  ['cloudflare', 'route53', 'godaddy', 'gandi', NULL][1 + h4 % 5] AS dns_provider,
  false AS records_truncated,
  CAST(5 AS INTEGER) AS dns_queries
FROM sfx ORDER BY domain
) TO '{out}/part-00000.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880,
  KV_METADATA {{'authcensus.schema_version': '1', 'authcensus.snapshot_id': '{sid}'}});
"""
duckdb.sql(sql)
