"""The steady rate of a crawl, read from its snapshot (used by e2e.sh and cpu.sh).

A run's wall time includes its ramp-up and a tail of slow domains (retries of
dead names, a planted policy host that hangs until the 20 s fetch deadline);
the steady rate counts only the rows whose `crawled_at` lies between the 5th
and 95th percentile, over that span.
"""
import glob
import os

import duckdb


def steady(snapshot_root):
    """(rows, DNS queries, span in seconds) of the steady part of the
    snapshots under `snapshot_root` (`snapshot=*/*.parquet`); span is None
    when there are no rows."""
    files = glob.glob(os.path.join(snapshot_root, "snapshot=*", "*.parquet"))
    return duckdb.sql(f"""with t as (select epoch_us(crawled_at) t, dns_queries q from read_parquet({files!r})),
  b as (select quantile_cont(t, 0.05) a, quantile_cont(t, 0.95) z from t)
  select count(*), coalesce(sum(q), 0), (max(z) - max(a)) / 1e6 from t, b where t between a and z""").fetchall()[0]
