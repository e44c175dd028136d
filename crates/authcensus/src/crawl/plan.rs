//! `authcensus crawl`'s arguments and their validation into a [`CrawlPlan`].

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use authcensus_crawl::CrawlSettings;
use authcensus_dns::DnsConfig;
use authcensus_store::WriterOptions;
use authcensus_store::manifest::utc_date_today;
use authcensus_store::remote::is_url;
use clap::Args;

use crate::input_args::{InputArgs, InputSettings};

const AFTER_HELP: &str = "\
Rows go to OUT/snapshot=ID/part-NNNNN.parquet with OUT/snapshot=ID/manifest.json
and rejected input lines in OUT/snapshot=ID/rejected.csv. Re-running the same
--out and --snapshot resumes: domains already in closed part files are skipped.

Sharded (--shard K/N, or K/N from a Kubernetes Indexed Job's JOB_COMPLETION_INDEX
with --shard-count N, or from a Slurm array's SLURM_ARRAY_TASK_ID minus
SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT), the run writes
OUT/snapshot=ID/shard=K/ with its own manifest.json recording K/N.

--out s3://bucket/prefix (or gs://, az://, file://) writes parts to a local
staging directory and uploads each closed part with a multipart upload, then
rejected.csv and, last, manifest.json; credentials and endpoint come from the
standard variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
AWS_ENDPOINT_URL, AWS_ALLOW_HTTP=true for plain HTTP). A run restarted on any
machine downloads the parts already uploaded and skips their domains.

DNS failures are data: a timeout or SERVFAIL lands in the row's statuses.
Exit status: 0 when the crawl completed; 2 for unusable input or output (the
snapshot is then marked incomplete); 130 when interrupted (SIGINT/SIGTERM: closed
files and the manifest are flushed, the snapshot is marked incomplete).";

/// Arguments of `authcensus crawl`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct CrawlArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Recursive resolver to query, `IP` or `IP:PORT` or `[IPv6]:PORT` (repeatable) [default: the nameservers of /etc/resolv.conf].
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    resolvers: Vec<String>,
    /// Snapshot root: a directory, or an object store URL (s3://bucket/prefix, gs://, az://, file://).
    #[arg(long, value_name = "DIR|URL", default_value = "snapshots")]
    out: PathBuf,
    /// Local staging directory of an object store --out [default: TMPDIR/authcensus-staging-HASH of the URL].
    #[arg(long, value_name = "DIR")]
    staging_dir: Option<PathBuf>,
    /// Snapshot id [default: today's UTC date, YYYY-MM-DD].
    #[arg(long, value_name = "ID")]
    snapshot: Option<String>,
    /// Global cap on DNS queries per second, retries included [default: no cap].
    #[arg(long, value_name = "N")]
    qps: Option<u32>,
    /// Cap on DNS queries per second to each resolver [default: no cap].
    #[arg(long, value_name = "N")]
    qps_per_resolver: Option<u32>,
    /// Domains in flight at once (in all threads).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    concurrency: usize,
    /// Threads crawling domains, each with its own event loop and DNS sockets [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Added to the crawl threads' nice value, 0-19 (Linux). A resolver on the same machine then gets
    /// the CPU first whenever a query reaches it, so answers come back sooner; 0 runs them at the
    /// priority the crawl was started with.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=19))]
    nice: u8,
    /// Floor of each resolver's adaptive in-flight window [default: 8], divided among the threads. The
    /// window halves when a block of queries sent together times out (28 of
    /// 128 in a row, at most two per domain, more on a path with a higher
    /// background loss rate), as a resolver whose buffer overflows loses
    /// them; random loss and servers that never answer do not halve it.
    /// Raise the floor to keep that many queries in flight whatever the
    /// losses.
    #[arg(long, value_name = "N")]
    window_min: Option<u32>,
    /// Ceiling of each resolver's adaptive in-flight window [default: 4096, at most 16384], divided
    /// among the threads. A resolver never has more queries outstanding, so
    /// at a round-trip time T its rate is at most N / T (4096 at 50 ms:
    /// about 82,000 queries/s); raise it for a fast resolver far away.
    #[arg(long, value_name = "N")]
    window_max: Option<u32>,
    /// Send every UDP query on its own with sendmmsg, unpadded. By default (on Linux) a burst of
    /// queries goes out as one UDP GSO write, each query padded with EDNS(0) Padding (RFC 7830)
    /// to 128 octets, the block length RFC 8467 recommends; the resolver still receives one
    /// datagram per query.
    #[arg(long)]
    no_udp_gso: bool,
    /// Seconds to wait for one DNS answer before retrying.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    timeout: f64,
    /// Retries of a DNS query after the first attempt (each on the next resolver).
    #[arg(long, value_name = "N", default_value_t = 2)]
    retries: u32,
    /// Extra trust anchors (PEM) for MTA-STS policy fetches; the system roots stay trusted.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// TCP port of MTA-STS policy hosts (443 on the internet; tests and the demo use a high port).
    #[arg(long, value_name = "PORT", default_value_t = 443)]
    mta_sts_port: u16,
    /// Deadline of one MTA-STS policy fetch in seconds: connect, TLS, headers and body. RFC 8461
    /// §3.3 suggests a minute; a survey keeps its tail shorter, and a Policy Host answering later
    /// is recorded as a `timeout` fetch failure.
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0)]
    mta_sts_timeout: f64,
    /// User-Agent of MTA-STS policy fetches [default: authcensus/VERSION (+email-auth survey)].
    #[arg(long, value_name = "TEXT")]
    user_agent: Option<String>,
    /// Rows per Parquet part file (the sort buffer and the unit of resume).
    // 10,000: the part buffer dominates the crawl's memory (benches/scale.sh,
    // 200,000 domains: peak RSS 411 MB at 100,000 rows, 260 MB at 25,000,
    // 201 MB at 10,000), and 100 parts per million domains read fine.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    rows_per_file: usize,
    /// Never draw a progress bar (it is hidden anyway when stderr is not a terminal).
    #[arg(long)]
    no_progress: bool,
}

/// Parses `IP`, `IP:PORT` or `[IPv6]:PORT` (port 53 when absent).
pub fn parse_resolver(s: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    s.parse::<SocketAddr>()
        .with_context(|| format!("`--resolver {s}`: expected IP, IP:PORT or [IPv6]:PORT"))
}

/// Everything a crawl needs, resolved from the arguments.
#[derive(Debug)]
pub struct CrawlPlan {
    /// Input settings.
    pub input: InputSettings,
    /// Resolvers to query.
    pub resolvers: Vec<SocketAddr>,
    /// DNS client configuration.
    pub dns: DnsConfig,
    /// Crawl limits.
    pub crawl: CrawlSettings,
    /// Snapshot root (the local staging directory when `remote` is set).
    pub out: PathBuf,
    /// The object store URL of `--out`, if it is one.
    pub remote: Option<String>,
    /// Snapshot id.
    pub snapshot: String,
    /// Draw a progress bar when stderr is a terminal.
    pub progress: bool,
    /// Rows per part file.
    pub rows_per_file: usize,
}

impl CrawlPlan {
    /// A plan crawling `input` through one resolver into `out/snapshot=<id>`
    /// with every limit at its default (the demo and tests).
    pub fn local(
        input: InputArgs,
        resolver: SocketAddr,
        out: PathBuf,
        snapshot: String,
        ca_file: Option<PathBuf>,
        https_port: u16,
    ) -> anyhow::Result<Self> {
        let mut dns = DnsConfig::new(vec![resolver]);
        // A loopback server answers in microseconds: a never-answering name
        // should not hold the demo for the internet's 2 s x 3 attempts.
        dns.attempt_timeout = Duration::from_millis(400);
        dns.retries = 1;
        Ok(CrawlPlan {
            input: InputSettings::from_args(input)?,
            resolvers: vec![resolver],
            dns,
            crawl: CrawlSettings {
                ca_file,
                https_port,
                mta_sts_fetch_timeout: Duration::from_secs(3),
                ..CrawlSettings::default()
            },
            out,
            remote: None,
            snapshot,
            progress: true,
            rows_per_file: WriterOptions::default().rows_per_file,
        })
    }

    /// Validates the arguments.
    pub fn from_args(args: CrawlArgs) -> anyhow::Result<Self> {
        let input = InputSettings::from_args(args.input)?;
        let resolvers = if args.resolvers.is_empty() {
            let found = authcensus_dns::system_resolvers()
                .context("reading the system resolvers (give --resolver)")?;
            if found.is_empty() {
                bail!("no nameserver in /etc/resolv.conf: give --resolver IP[:PORT]");
            }
            found
        } else {
            args.resolvers
                .iter()
                .map(|r| parse_resolver(r))
                .collect::<anyhow::Result<_>>()?
        };
        let attempt_timeout = seconds("--timeout", args.timeout, 60.0)?;
        let fetch_timeout = seconds(
            "--mta-sts-timeout",
            args.mta_sts_timeout,
            MAX_FETCH_TIMEOUT_S,
        )?;
        if args.concurrency == 0 {
            bail!("`--concurrency` must be at least 1");
        }
        if args.rows_per_file == 0 {
            bail!("`--rows-per-file` must be at least 1");
        }
        let threads = match args.threads {
            Some(n) if !(1..=MAX_THREADS).contains(&n) => {
                bail!("`--threads` must be between 1 and {MAX_THREADS}")
            }
            Some(n) => n,
            None => std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get)
                .min(MAX_THREADS),
        }
        // No more threads than domains in flight (the crawl would not use them).
        .min(args.concurrency);
        let mut dns = DnsConfig::new(resolvers.clone());
        dns.attempt_timeout = attempt_timeout;
        dns.retries = args.retries;
        dns.udp_gso = !args.no_udp_gso;
        if let Some(w) = args.window_max {
            if !(1..=MAX_WINDOW).contains(&w) {
                bail!("`--window-max` must be between 1 and {MAX_WINDOW}");
            }
            dns.window_max = w;
            dns.window_min = dns.window_min.min(w);
            dns.window_initial = dns.window_initial.min(w);
            // Room for every resolver's full window, within the client's cap.
            dns.max_in_flight = dns
                .max_in_flight
                .max(usize::try_from(w).unwrap_or(usize::MAX).saturating_mul(2));
        }
        if let Some(w) = args.window_min {
            if w == 0 || w > dns.window_max {
                bail!("`--window-min` must be between 1 and {}", dns.window_max);
            }
            dns.window_min = w;
        }
        dns.qps = args.qps.map(nonzero("--qps")).transpose()?;
        dns.qps_per_upstream = args
            .qps_per_resolver
            .map(nonzero("--qps-per-resolver"))
            .transpose()?;
        dns.lanes = u32::try_from(threads).unwrap_or(1);
        let mut crawl = CrawlSettings {
            concurrency: args.concurrency,
            threads,
            nice: i32::from(args.nice),
            ca_file: args.ca_file,
            https_port: args.mta_sts_port,
            mta_sts_fetch_timeout: fetch_timeout,
            ..CrawlSettings::default()
        };
        if let Some(ua) = args.user_agent {
            crawl.user_agent = ua;
        }
        let snapshot = args.snapshot.unwrap_or_else(utc_date_today);
        validate_snapshot_id(&snapshot)?;
        let (out, remote) = match args.out.to_str() {
            Some(url) if is_url(url) => {
                let url = url.trim_end_matches('/').to_string();
                let staging = args.staging_dir.unwrap_or_else(|| {
                    std::env::temp_dir().join(format!(
                        "authcensus-staging-{:016x}",
                        authcensus_input::shard_hash(&url)
                    ))
                });
                (staging, Some(url))
            }
            _ => {
                if args.staging_dir.is_some() {
                    bail!(
                        "`--staging-dir` is for an object store --out (s3://, gs://, az://, file://)"
                    );
                }
                (args.out, None)
            }
        };
        Ok(CrawlPlan {
            input,
            resolvers,
            dns,
            crawl,
            out,
            remote,
            snapshot,
            progress: !args.no_progress,
            rows_per_file: args.rows_per_file,
        })
    }
}

/// Most `--window-max`: the DNS client holds at most 32,768 attempts in
/// flight ([`DnsConfig::max_in_flight`]), twice this.
const MAX_WINDOW: u32 = 16_384;

/// Most `--threads`.
const MAX_THREADS: usize = 256;

/// Most `--mta-sts-timeout`, seconds: five times RFC 8461 §3.3's suggested
/// minute; a longer deadline only lets hanging hosts hold fetch slots.
const MAX_FETCH_TIMEOUT_S: f64 = 300.0;

/// `value` seconds of `flag` as a duration: finite, above 0, at most `max`.
fn seconds(flag: &str, value: f64, max: f64) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value > 0.0 && value <= max) {
        bail!("`{flag}` must be between 0 and {max} seconds");
    }
    Ok(Duration::from_secs_f64(value))
}

fn nonzero(flag: &'static str) -> impl Fn(u32) -> anyhow::Result<std::num::NonZeroU32> {
    move |n| std::num::NonZeroU32::new(n).with_context(|| format!("`{flag}` must be at least 1"))
}

/// A snapshot id becomes a directory name: keep it to a safe alphabet.
fn validate_snapshot_id(id: &str) -> anyhow::Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !id.starts_with('.');
    if !ok {
        bail!(
            "`--snapshot {id}`: use 1-64 characters of A-Z a-z 0-9 - _ . (not starting with a dot)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        crawl: CrawlArgs,
    }

    fn plan(extra: &[&str]) -> anyhow::Result<CrawlPlan> {
        let mut argv = vec!["crawl", "--resolver", "127.0.0.1:53", "domains.txt"];
        argv.extend_from_slice(extra);
        CrawlPlan::from_args(Cli::try_parse_from(argv)?.crawl)
    }

    #[test]
    fn udp_gso_is_on_unless_turned_off() {
        assert!(plan(&[]).unwrap().dns.udp_gso);
        assert!(!plan(&["--no-udp-gso"]).unwrap().dns.udp_gso);
    }

    #[test]
    fn window_max_sets_the_ceiling_and_room_for_it() {
        let default = plan(&[]).unwrap();
        assert_eq!(default.dns.window_max, 4096);
        assert_eq!(default.dns.max_in_flight, 8192);
        let big = plan(&["--window-max", "16384"]).unwrap();
        assert_eq!(big.dns.window_max, 16_384);
        assert_eq!(big.dns.max_in_flight, 32_768);
        // A small ceiling pulls the floor and the start down with it.
        let small = plan(&["--window-max", "4"]).unwrap();
        assert_eq!(
            (
                small.dns.window_max,
                small.dns.window_min,
                small.dns.window_initial
            ),
            (4, 4, 4)
        );
        assert_eq!(small.dns.max_in_flight, 8192);
        for bad in ["0", "16385"] {
            let e = plan(&["--window-max", bad]).unwrap_err().to_string();
            assert!(e.contains("--window-max"), "{e}");
        }
        let e = plan(&["--window-max", "100", "--window-min", "200"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--window-min` must be between 1 and 100"), "{e}");
    }

    #[test]
    fn mta_sts_timeout_sets_the_fetch_deadline() {
        assert_eq!(
            plan(&[]).unwrap().crawl.mta_sts_fetch_timeout,
            Duration::from_secs(20)
        );
        assert_eq!(
            plan(&["--mta-sts-timeout", "2.5"])
                .unwrap()
                .crawl
                .mta_sts_fetch_timeout,
            Duration::from_millis(2500)
        );
        for bad in ["0", "301", "NaN", "inf"] {
            let e = plan(&["--mta-sts-timeout", bad]).unwrap_err().to_string();
            assert!(
                e.contains("`--mta-sts-timeout` must be between"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn resolver_forms() {
        assert_eq!(
            parse_resolver("192.0.2.1").unwrap().to_string(),
            "192.0.2.1:53"
        );
        assert_eq!(
            parse_resolver("127.0.0.1:5353").unwrap().to_string(),
            "127.0.0.1:5353"
        );
        assert_eq!(parse_resolver("::1").unwrap().to_string(), "[::1]:53");
        assert_eq!(
            parse_resolver("[::1]:5300").unwrap().to_string(),
            "[::1]:5300"
        );
        assert!(parse_resolver("resolver.example").is_err());
    }

    #[test]
    fn snapshot_ids() {
        assert!(validate_snapshot_id("2026-11-22").is_ok());
        assert!(validate_snapshot_id("../x").is_err());
        assert!(validate_snapshot_id(".hidden").is_err());
        assert!(validate_snapshot_id("a/b").is_err());
        assert!(validate_snapshot_id("").is_err());
    }
}
