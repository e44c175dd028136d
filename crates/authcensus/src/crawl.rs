//! `authcensus crawl`: input → DNS client → per-domain classification →
//! Parquet snapshot. Glue only: the work lives in `authcensus-input`,
//! `authcensus-dns`, `authcensus-crawl` and `authcensus-store`.

use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use authcensus_crawl::{
    CancellationToken, CrawlContext, CrawlSettings, CrawlSummary, CrawlTarget, Progress, RunConfig,
};
use authcensus_dns::probe::{PROBE_NAME, ProbeOutcome, probe};
use authcensus_dns::{DnsClient, DnsConfig};
use authcensus_input::ShardSource;
use authcensus_input::{DomainStream, FnSink, InputStats, Rejection, SuffixList};
use authcensus_store::layout::{
    MANIFEST_FILE, REJECTED_FILE, SHARD_PREFIX, SNAPSHOT_PREFIX, run_dir,
};
use authcensus_store::manifest::{
    InputInfo, Manifest, PslInfo, ResolverInfo, ShardInfo, utc_date_today,
};
use authcensus_store::remote::is_url;
use authcensus_store::{RemoteStore, WriterOptions};
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

/// The crawl's allocator (see [`authcensus_crawl::FastAlloc`]).
#[global_allocator]
static ALLOC: authcensus_crawl::FastAlloc = authcensus_crawl::FastAlloc;

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
    /// Floor of each resolver's adaptive in-flight window [default: 8], divided among the threads. The
    /// window halves on bursts of timeouts, reading them as congestion; on a
    /// path whose losses are random or whose timeouts come from servers that
    /// never answer (not from an overloaded resolver), raise the floor so
    /// the crawl keeps that many queries in flight.
    #[arg(long, value_name = "N")]
    window_min: Option<u32>,
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
        if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 60.0) {
            bail!("`--timeout` must be between 0 and 60 seconds");
        }
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
        dns.attempt_timeout = Duration::from_secs_f64(args.timeout);
        dns.retries = args.retries;
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
            ca_file: args.ca_file,
            https_port: args.mta_sts_port,
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

/// Most `--threads`.
const MAX_THREADS: usize = 256;

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

/// What the input thread reports when the input ends.
struct InputOutcome {
    stats: InputStats,
    error: Option<String>,
    rejected: u64,
    rejects_error: Option<String>,
}

/// Runs `authcensus crawl`.
pub fn run(args: CrawlArgs) -> anyhow::Result<ExitCode> {
    let plan = CrawlPlan::from_args(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = runtime.block_on(execute(plan, None))?;
    Ok(summary.exit_code())
}

/// The outcome of [`execute`].
#[derive(Debug)]
pub struct CrawlOutcome {
    /// The pipeline's summary.
    pub summary: CrawlSummary,
    /// The snapshot directory.
    pub dir: PathBuf,
    /// An input error that cut the input short.
    pub input_error: Option<String>,
}

impl CrawlOutcome {
    /// 0 complete, 2 input unusable, 130 interrupted.
    pub fn exit_code(&self) -> ExitCode {
        if self.input_error.is_some() {
            ExitCode::from(2)
        } else if self.summary.cancelled {
            ExitCode::from(130)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// Probes every resolver once before the crawl ([`authcensus_dns::probe`])
/// and returns those to use. When nothing listens at any of them the crawl
/// would only collect timeouts, so that is an error. One where nothing
/// listens while another answers is left out with a warning (each query
/// sent there would wait a full timeout before failing over); a silent one
/// stays, with a warning (it may only drop the probe).
async fn check_resolvers(
    resolvers: &[SocketAddr],
    timeout: Duration,
) -> anyhow::Result<Vec<SocketAddr>> {
    let wait = timeout.min(Duration::from_secs(1));
    // Concurrently: a silent resolver must not delay the others' probes.
    let probes: Vec<_> = resolvers
        .iter()
        .map(|&r| tokio::spawn(probe(r, 2, wait)))
        .collect();
    let mut unreachable = Vec::new();
    let mut usable = Vec::new();
    for (&r, handle) in resolvers.iter().zip(probes) {
        let outcome = handle
            .await
            .unwrap_or_else(|e| ProbeOutcome::Unreachable(format!("probe failed: {e}")));
        match outcome {
            ProbeOutcome::Answered => usable.push(r),
            ProbeOutcome::Unreachable(why) => unreachable.push(format!("{r}: {why}")),
            ProbeOutcome::Silent => {
                tracing::warn!(
                    "resolver {r} did not answer a probe query for `{PROBE_NAME}` within {:.1} s (twice); crawling with it anyway",
                    wait.as_secs_f64()
                );
                usable.push(r);
            }
        }
    }
    if usable.is_empty() {
        bail!(
            "no DNS server listens at any resolver given: {}",
            unreachable.join("; ")
        );
    }
    for u in &unreachable {
        tracing::warn!("resolver {u}: nothing listens there; crawling without it");
    }
    Ok(usable)
}

/// Runs one crawl inside a tokio runtime. `cancel` lets a caller (the demo)
/// stop it; SIGINT and SIGTERM always do.
pub async fn execute(
    mut plan: CrawlPlan,
    cancel: Option<CancellationToken>,
) -> anyhow::Result<CrawlOutcome> {
    let started = Instant::now();
    let psl = plan.input.load_psl()?;
    let shard = plan.input.options.shard;
    let dir = run_dir(&plan.out, &plan.snapshot, shard.map(|s| s.index));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the snapshot directory `{}`", dir.display()))?;
    // The run's prefix relative to --out: snapshot=ID[/shard=K].
    let rel_dir = match shard {
        Some(s) => format!(
            "{SNAPSHOT_PREFIX}{}/{SHARD_PREFIX}{}",
            plan.snapshot, s.index
        ),
        None => format!("{SNAPSHOT_PREFIX}{}", plan.snapshot),
    };
    let remote = match &plan.remote {
        Some(url) => {
            let store = Arc::new(RemoteStore::open(url)?);
            let synced = store
                .sync_run_dir(&rel_dir, &dir)
                .with_context(|| format!("resuming from `{}`", store.url_of(&rel_dir)))?;
            if !synced.downloaded.is_empty() || !synced.uploaded.is_empty() {
                eprintln!(
                    "authcensus: resume from {}: {} files downloaded, {} closed parts uploaded",
                    store.url_of(&rel_dir),
                    synced.downloaded.len(),
                    synced.uploaded.len()
                );
            }
            Some(store)
        }
        None => None,
    };
    let shard_info = shard.map(|s| ShardInfo {
        index: s.index,
        count: s.count,
        assignment: authcensus_input::SHARD_ASSIGNMENT.to_string(),
        source: plan
            .input
            .shard_source
            .unwrap_or(ShardSource::Flag)
            .to_string(),
    });

    let usable = check_resolvers(&plan.resolvers, plan.dns.attempt_timeout).await?;
    plan.dns.upstreams.clone_from(&usable);
    plan.resolvers = usable;
    let client = DnsClient::new(plan.dns.clone())
        .await
        .context("starting the DNS client")?;
    let org_psl = Arc::clone(&psl);
    let org = move |name: &str| org_psl.organizational_domain(name);
    let lane_client = client.clone();
    let mut ctx = CrawlContext::new(client, org, plan.crawl.clone())
        .context("setting up MTA-STS policy fetches")?;
    // Each crawl thread gets DNS sockets of its own (authcensus_dns::lane).
    ctx.lane_setup = Some(authcensus_crawl::lane_setup(move || {
        let client = lane_client.clone();
        async move {
            client
                .enter_lane()
                .await
                .map_err(|e| format!("binding a crawl thread's DNS sockets: {e}"))
        }
    }));

    let cancel = cancel.unwrap_or_default();
    spawn_signal_handler(cancel.clone());

    // The input runs on its own thread and hands targets over a bounded
    // channel: back-pressure reaches the reader, and a blocked read never
    // stalls the runtime for long (inputs are far faster than the crawl).
    // Targets travel in batches (see `read_input`): one hand-over, and one
    // wake-up of a blocked reader, per batch rather than per domain.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<CrawlTarget>>(INPUT_BATCHES);
    let rejected_path = dir.join(REJECTED_FILE);
    let input = plan.input;
    let thread_psl = Arc::clone(&psl);
    let input_thread = std::thread::Builder::new()
        .name("authcensus-input".into())
        .spawn(move || read_input(input, thread_psl, &rejected_path, &tx))
        .context("starting the input thread")?;

    let run = RunConfig {
        out_dir: plan.out.clone(),
        snapshot_id: plan.snapshot.clone(),
        writer: WriterOptions {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            rows_per_file: plan.rows_per_file,
            row_group_rows: plan.rows_per_file.clamp(1, 50_000),
            shard: shard.map(|s| s.index),
            after_part: remote.as_ref().map(|r| r.part_uploader(&rel_dir)),
            ..WriterOptions::default()
        },
        resolvers: plan
            .resolvers
            .iter()
            .map(|a| ResolverInfo {
                address: a.to_string(),
                dnssec_validating: None,
            })
            .collect(),
        psl: Some(PslInfo {
            source: psl.origin().to_string().trim_matches('`').to_string(),
            sha256: psl.sha256().to_string(),
        }),
        inputs: Vec::new(),
        rejected_file: Some(REJECTED_FILE.to_string()),
        rejected_lines: 0,
    };
    let progress = Arc::new(Progress::default());
    let bar = crate::progress::CrawlBar::start(Arc::clone(&progress), plan.progress);
    let dns = Arc::clone(&ctx.resolver);
    // On a worker thread, not on the thread blocked in `block_on`: the
    // feeding of targets may block on the input channel.
    let result = tokio::spawn(authcensus_crawl::crawl(
        rx.into_iter().flatten(),
        ctx,
        run,
        progress,
        cancel,
    ))
    .await
    .map_err(|e| anyhow::anyhow!("the crawl task failed: {e}"))?;
    bar.finish();
    eprintln!("authcensus: dns: {:?}", dns.inner().stats().snapshot());
    let input = input_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the input thread panicked"))?;
    let summary = result.with_context(|| format!("writing the snapshot `{}`", dir.display()))?;

    // The pipeline wrote the manifest; add what only the input knows now.
    finish_manifest(&dir, &input, summary.cancelled, shard_info)?;
    let shown = match &remote {
        Some(store) => {
            // The manifest goes last: a shard is finished once it is there.
            let rel = format!("{rel_dir}/{REJECTED_FILE}");
            store
                .upload_file(&dir.join(REJECTED_FILE), &rel)
                .with_context(|| format!("uploading `{}`", store.url_of(&rel)))?;
            let path = dir.join(MANIFEST_FILE);
            let rel = format!("{rel_dir}/{MANIFEST_FILE}");
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading `{}`", path.display()))?;
            store
                .put(&rel, bytes)
                .with_context(|| format!("uploading `{}`", store.url_of(&rel)))?;
            // Everything is in the store now: free the staging space (a
            // re-run would download what it needs).
            if summary.complete && input.error.is_none() {
                let _ = std::fs::remove_dir_all(&dir);
            }
            store.url_of(&rel_dir)
        }
        None => dir.display().to_string(),
    };
    eprintln!(
        "authcensus: crawl {}: {} ok, {} nxdomain, {} error, {} skipped (already in the snapshot), {} rejected input lines, {:.1}s -> {}",
        if input.error.is_some() {
            "stopped by an input error"
        } else if summary.cancelled {
            "interrupted"
        } else {
            "complete"
        },
        summary.ok,
        summary.nxdomain,
        summary.error,
        summary.skipped_resume,
        input.rejected,
        started.elapsed().as_secs_f64(),
        shown
    );
    if let Some(e) = &input.rejects_error {
        bail!("writing `{}`: {e}", dir.join(REJECTED_FILE).display());
    }
    if let Some(e) = &input.error {
        eprintln!("authcensus: error: {e}");
    }
    Ok(CrawlOutcome {
        summary,
        dir,
        input_error: input.error,
    })
}

/// Batches of targets the input channel holds.
const INPUT_BATCHES: usize = 16;
/// Most targets in one batch (so the channel holds at most 4,096 targets).
const INPUT_BATCH: usize = 256;

/// Reads the inputs and hands the targets to the crawl. A target goes over
/// at once while the crawl keeps up (the channel has room); while the
/// channel is full the targets gather into a batch of up to
/// [`INPUT_BATCH`], so a crawl that is behind wakes this thread once per
/// batch instead of once per domain.
fn read_input(
    input: InputSettings,
    psl: Arc<SuffixList>,
    rejected_path: &std::path::Path,
    tx: &std::sync::mpsc::SyncSender<Vec<CrawlTarget>>,
) -> InputOutcome {
    let mut rejects_error: Option<String> = None;
    let mut rejected = 0u64;
    let mut out = match std::fs::File::create(rejected_path) {
        Ok(f) => Some(BufWriter::new(f)),
        Err(e) => {
            rejects_error = Some(e.to_string());
            None
        }
    };
    if let Some(w) = out.as_mut()
        && let Err(e) = writeln!(w, "source,line,reason,raw")
    {
        rejects_error = Some(e.to_string());
    }
    let sink = FnSink(|r: Rejection| {
        rejected += 1;
        if let Some(w) = out.as_mut()
            && rejects_error.is_none()
            && let Err(e) = writeln!(
                w,
                "{},{},{},{}",
                csv_field(&r.source),
                r.line,
                r.reason,
                csv_field(&r.raw)
            )
        {
            rejects_error = Some(e.to_string());
        }
    });
    let mut stream = DomainStream::new(input.inputs, input.options, psl, sink);
    let mut error = None;
    let mut batch: Vec<CrawlTarget> = Vec::with_capacity(INPUT_BATCH);
    let mut crawl_gone = false;
    for item in stream.by_ref() {
        match item {
            Ok(d) => {
                let target = CrawlTarget {
                    domain: d.domain,
                    registrable_domain: d.registrable_domain,
                    public_suffix: d.public_suffix,
                    source: d.source.to_string(),
                    tag: d.tag.map(|t| t.to_string()),
                    rank: d.rank.and_then(|r| i64::try_from(r).ok()),
                };
                batch.push(target);
                let full = batch.len() >= INPUT_BATCH;
                let sent = if full {
                    tx.send(std::mem::take(&mut batch)).map_err(|_| ())
                } else {
                    match tx.try_send(std::mem::take(&mut batch)) {
                        Ok(()) => Ok(()),
                        Err(std::sync::mpsc::TrySendError::Full(back)) => {
                            batch = back;
                            Ok(())
                        }
                        Err(std::sync::mpsc::TrySendError::Disconnected(_)) => Err(()),
                    }
                };
                if sent.is_err() {
                    crawl_gone = true;
                    break; // the crawl stopped (cancelled or failed)
                }
                if batch.capacity() == 0 {
                    batch.reserve(INPUT_BATCH);
                }
            }
            Err(e) => {
                error = Some(format!("{e:#}"));
                break;
            }
        }
    }
    if !crawl_gone && !batch.is_empty() {
        let _ = tx.send(batch);
    }
    let (stats, _sink) = stream.into_parts();
    if let Some(mut w) = out
        && let Err(e) = w.flush()
        && rejects_error.is_none()
    {
        rejects_error = Some(e.to_string());
    }
    InputOutcome {
        stats,
        error,
        rejected,
        rejects_error,
    }
}

/// Quotes a CSV field when needed (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn finish_manifest(
    dir: &std::path::Path,
    input: &InputOutcome,
    cancelled: bool,
    shard: Option<ShardInfo>,
) -> anyhow::Result<()> {
    let Some(mut m) = Manifest::read(dir)? else {
        bail!("the crawl left no manifest in `{}`", dir.display());
    };
    m.inputs = input
        .stats
        .sources
        .iter()
        .map(|s| InputInfo {
            path: s.name.clone(),
            format: s.format.map(|f| f.to_string()).unwrap_or_default(),
            tag: s.tag.clone(),
            lines: s.lines,
            accepted: s.candidates,
            rejected: s.rejected_total(),
            sha256: None,
        })
        .collect();
    m.rejected_file = Some(REJECTED_FILE.to_string());
    m.rejected_lines = input.rejected;
    m.shard = shard;
    if input.error.is_some() || cancelled {
        m.complete = false;
    }
    m.write(dir)?;
    Ok(())
}

fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
                () = cancel.cancelled() => return,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = cancel.cancelled() => return,
            }
        }
        eprintln!("authcensus: interrupted: finishing domains in flight, flushing the snapshot");
        cancel.cancel();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
