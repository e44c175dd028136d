-- DMARC adoption and enforcement per snapshot, over resolving domains
-- (domain_status = 'ok'), with both definitions of "enforcing":
--   enforcing        = valid record, effective policy quarantine or reject
--   enforcing_strict = enforcing with pct = 100 (absent counts as 100) and no sp=none
-- `authcensus report --format json` gives the same counts as
-- metrics.dmarc_valid / dmarc_enforcing / dmarc_enforcing_strict / dmarc_reject.
SELECT
    snapshot,
    count(*) AS resolving,
    count(*) FILTER (WHERE dmarc_status = 'valid') AS dmarc_valid,
    count(*) FILTER (WHERE dmarc_status = 'valid' AND dmarc_effective_policy = 'reject') AS dmarc_reject,
    count(*) FILTER (WHERE dmarc_status = 'valid' AND dmarc_effective_policy IN ('quarantine', 'reject')) AS enforcing,
    count(*) FILTER (WHERE dmarc_status = 'valid' AND dmarc_effective_policy IN ('quarantine', 'reject')
                       AND coalesce(dmarc_pct, 100) = 100
                       AND coalesce(dmarc_subdomain_policy, '') <> 'none') AS enforcing_strict
FROM read_parquet(getvariable('root') || '/*/*.parquet', hive_partitioning = true)
WHERE domain_status = 'ok'
GROUP BY snapshot
ORDER BY snapshot;
