-- Domains whose SPF include/redirect tree needs more than 10 DNS lookups
-- (RFC 7208 section 4.6.4: a receiver returns permerror for them).
SELECT snapshot, domain, spf_dns_lookups, spf_void_lookups, spf_errors, spf_record
FROM read_parquet(getvariable('root') || '/*/*.parquet', hive_partitioning = true)
WHERE spf_dns_lookups > 10
ORDER BY snapshot, spf_dns_lookups DESC, domain;
