-- MTA-STS misconfigurations per snapshot: a policy that is published but
-- fails (bad TXT record, policy fetch failure, invalid policy; RFC 8461
-- sections 3.1-3.3), by failure and fetch error, and valid policies whose mx
-- patterns do not cover an actual MX host (section 4.1).
-- Denominator: resolving domains (domain_status = 'ok').
SELECT snapshot, mta_sts_status AS failure, coalesce(mta_sts_fetch_error, '') AS fetch_error, count(*) AS domains
FROM read_parquet(getvariable('root') || '/*/*.parquet', hive_partitioning = true)
WHERE domain_status = 'ok' AND mta_sts_status NOT IN ('none', 'valid')
GROUP BY ALL
UNION ALL
SELECT snapshot, 'mx_mismatch', '', count(*)
FROM read_parquet(getvariable('root') || '/*/*.parquet', hive_partitioning = true)
WHERE domain_status = 'ok' AND mta_sts_status = 'valid' AND mta_sts_mx_mismatch
GROUP BY ALL
ORDER BY 1, 2, 3;
