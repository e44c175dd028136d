-- Domains whose DMARC effective policy changed between the two latest snapshots.
WITH snaps AS (
    SELECT DISTINCT snapshot
    FROM read_parquet(getvariable('root') || '/*/*.parquet', hive_partitioning = true)
    ORDER BY snapshot DESC LIMIT 2
),
rows AS (
    SELECT snapshot, domain,
           CASE WHEN dmarc_status = 'valid' THEN dmarc_effective_policy ELSE '(' || dmarc_status || ')' END AS policy
    FROM read_parquet(getvariable('root') || '/*/*.parquet', hive_partitioning = true)
    WHERE snapshot IN (SELECT snapshot FROM snaps)
)
SELECT o.domain, o.policy AS old_policy, n.policy AS new_policy
FROM rows o JOIN rows n USING (domain)
WHERE o.snapshot = (SELECT min(snapshot) FROM snaps)
  AND n.snapshot = (SELECT max(snapshot) FROM snaps)
  AND o.policy IS DISTINCT FROM n.policy
ORDER BY new_policy, domain;
