//! `authcensus crawl`: input → DNS client → per-domain classification →
//! Parquet snapshot. Glue only: the work lives in `authcensus-input`,
//! `authcensus-dns`, `authcensus-crawl` and `authcensus-store`.

use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use authcensus_crawl::{
    CancellationToken, CrawlContext, CrawlSummary, CrawlTarget, Progress, RunConfig,
};
use authcensus_dns::DnsClient;
use authcensus_dns::probe::{PROBE_NAME, ProbeOutcome, probe};
use authcensus_input::ShardSource;
use authcensus_input::{DomainStream, FnSink, InputStats, Rejection, SuffixList};
use authcensus_store::layout::{
    MANIFEST_FILE, REJECTED_FILE, SHARD_PREFIX, SNAPSHOT_PREFIX, run_dir,
};
use authcensus_store::manifest::{InputInfo, Manifest, PslInfo, ResolverInfo, ShardInfo};
use authcensus_store::{RemoteStore, WriterOptions};

use crate::input_args::InputSettings;

mod plan;

pub use plan::{CrawlArgs, CrawlPlan};

/// The crawl's allocator (see [`authcensus_crawl::FastAlloc`]).
#[global_allocator]
static ALLOC: authcensus_crawl::FastAlloc = authcensus_crawl::FastAlloc;

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
    fn csv_quoting() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
