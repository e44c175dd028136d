-- DMARC effective policy mix per snapshot and public suffix.
-- Denominator: resolving domains (domain_status = 'ok') of that suffix.
SELECT
    snapshot,
    public_suffix,
    coalesce(CASE WHEN dmarc_status = 'valid' THEN dmarc_effective_policy END, '(' || dmarc_status || ')') AS policy,
    count(*) AS domains,
    round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY snapshot, public_suffix), 1) AS pct
FROM read_parquet(getvariable('root') || '/*/*.parquet', hive_partitioning = true)
WHERE domain_status = 'ok'
GROUP BY 1, 2, 3
ORDER BY snapshot, public_suffix, domains DESC;
