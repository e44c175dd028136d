//! The crawl: targets in, one snapshot row per domain out, through a bounded
//! pipeline into the snapshot writer, with resume and cancellation.
//!
//! ```text
//! targets ──► queue ──► lanes (threads, one runtime each; ──► bounded channel ──► writer thread
//!                       concurrency split among them,       (batches of rows)   (Parquet parts,
//!                       one tokio task per domain)                               manifest)
//! ```
//!
//! See [`crate::lanes`] for why domains run on several single-threaded
//! runtimes rather than one multi-threaded one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use authcensus_records::dmarc::OrgDomain;
use authcensus_records::dns::Resolver;
use authcensus_store::manifest::rfc3339_now;
use authcensus_store::writer::PartInfo;
use authcensus_store::{Manifest, SnapshotRow, SnapshotWriter, StoreError, WriterOptions};
use tokio_util::sync::CancellationToken;

use crate::cache::CacheStats;
use crate::domain::CrawlContext;
use crate::fetch::{FetchSetupError, FetchStats};
use crate::lanes::{self, ROW_BATCH};
use crate::settings::CrawlTarget;

/// Targets waiting for a lane.
const TARGET_QUEUE: usize = 256;

/// Fewest rows the channel to the writer thread holds.
const MIN_CHANNEL_ROWS: usize = 8192;

/// Where and under what name the snapshot is written, and the manifest
/// fields the crawl does not know itself.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Output directory; the snapshot goes to `<out>/snapshot=<id>/`.
    pub out_dir: PathBuf,
    /// The snapshot id.
    pub snapshot_id: String,
    /// Writer settings (its `tool_version` is also the manifest's).
    pub writer: WriterOptions,
    /// Resolvers queried (manifest `resolvers`).
    pub resolvers: Vec<authcensus_store::manifest::ResolverInfo>,
    /// The PSL used (manifest `psl`).
    pub psl: Option<authcensus_store::manifest::PslInfo>,
    /// The inputs (manifest `inputs`).
    pub inputs: Vec<authcensus_store::manifest::InputInfo>,
    /// Rejected-lines file name inside the snapshot directory, if written.
    pub rejected_file: Option<String>,
    /// Rejected input lines.
    pub rejected_lines: u64,
}

/// Live counters the binary can poll (for a progress bar).
#[derive(Debug, Default)]
pub struct Progress {
    /// Domains handed to a task.
    pub started: AtomicU64,
    /// Rows produced.
    pub done: AtomicU64,
    /// Rows with `domain_status = ok`.
    pub ok: AtomicU64,
    /// Rows with `domain_status = nxdomain`.
    pub nxdomain: AtomicU64,
    /// Rows with `domain_status = error`.
    pub error: AtomicU64,
    /// Targets skipped because a closed part already holds them.
    pub skipped: AtomicU64,
    /// Rows in part files closed by this run.
    pub rows_written: AtomicU64,
}

impl Progress {
    /// Counts a produced row by its `domain_status`; returns the status's
    /// index among ok, nxdomain and the rest (for per-status tallies).
    pub(crate) fn count(&self, status: &str) -> usize {
        self.done.fetch_add(1, Ordering::Relaxed);
        let (c, i) = match status {
            "ok" => (&self.ok, 0),
            "nxdomain" => (&self.nxdomain, 1),
            _ => (&self.error, 2),
        };
        c.fetch_add(1, Ordering::Relaxed);
        i
    }
}

/// What a crawl did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CrawlSummary {
    /// Rows with `domain_status = ok` produced by this run.
    pub ok: u64,
    /// Rows with `nxdomain`.
    pub nxdomain: u64,
    /// Rows with `error`.
    pub error: u64,
    /// Targets skipped because an earlier run wrote them.
    pub skipped_resume: u64,
    /// Rows this run wrote into closed part files.
    pub rows_written: u64,
    /// Part files this run closed.
    pub parts_written: u64,
    /// True when the run was cancelled before the input was exhausted.
    pub cancelled: bool,
    /// The manifest's `complete` at the end.
    pub complete: bool,
    /// DNS cache counters.
    pub cache: CacheStats,
    /// Policy fetch counters.
    pub fetch: FetchStats,
}

/// Why a crawl stopped (a domain never stops it: this is our own failure).
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    /// The snapshot could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The fetcher could not be set up.
    #[error(transparent)]
    Setup(#[from] FetchSetupError),
    /// The writer thread died.
    #[error("the snapshot writer thread stopped unexpectedly")]
    WriterGone,
    /// A crawl thread could not start or stopped unexpectedly.
    #[error("crawl thread: {0}")]
    Lane(String),
}

/// Runs a crawl (see the module docs) with `ctx` (built by
/// [`CrawlContext::new`] from the resolver, the PSL and the settings; keep a
/// clone to read the resolver's own statistics afterwards).
///
/// Opens the snapshot (resuming: targets whose domain a closed part already
/// holds are skipped and counted), writes the manifest with `complete:
/// false`, crawls up to `settings.concurrency` domains at once, rewrites the
/// manifest after each closed part, and at the end writes `complete: true`
/// and `finished_at` (or `complete: false` when `cancel` fired).
///
/// On cancellation no new domain is started; domains in flight finish
/// (every lookup and fetch has its own deadline) and their rows are written,
/// so the closed files hold every row produced.
///
/// # Errors
/// The snapshot could not be written.
pub async fn crawl<R, O, I>(
    targets: I,
    ctx: CrawlContext<R, O>,
    run: RunConfig,
    progress: Arc<Progress>,
    cancel: CancellationToken,
) -> Result<CrawlSummary, CrawlError>
where
    R: Resolver + Send + Sync + 'static,
    O: OrgDomain + Send + Sync + 'static,
    I: Iterator<Item = CrawlTarget> + Send,
{
    let limits = ctx.settings.manifest_limits();
    let concurrency = ctx.settings.concurrency.max(1);

    let (writer, resume) =
        SnapshotWriter::open(&run.out_dir, &run.snapshot_id, run.writer.clone())?;
    let dir = writer.dir().to_path_buf();
    let manifest = start_manifest(&run, &dir, limits, &resume.parts)?;
    manifest.write(&dir)?;
    let done = resume.done;
    let existing_parts = resume.parts.len();

    // The writer stage: a blocking thread owning the writer and the manifest.
    // Rows travel in batches of up to `ROW_BATCH`: one channel operation (and
    // at most one wake-up of the writer thread) per batch instead of per row.
    // At least `MIN_CHANNEL_ROWS` rows: while the writer thread encodes a
    // part file (about a second for 25,000 rows) the crawl keeps going.
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<SnapshotRow>>(
        (2 * concurrency).max(MIN_CHANNEL_ROWS) / ROW_BATCH,
    );
    let writer_progress = Arc::clone(&progress);
    let writer_task = tokio::task::spawn_blocking(move || {
        write_rows(writer, manifest, rx, existing_parts, &writer_progress)
    });

    let skipped = AtomicU64::new(0);
    // Set when the cancellation cut the input short (not when it fired
    // after the last target was taken: that run is complete).
    let cut = AtomicBool::new(false);
    let (target_tx, target_rx) = tokio::sync::mpsc::channel::<CrawlTarget>(TARGET_QUEUE);
    let shared = lanes::Shared {
        targets: Arc::new(tokio::sync::Mutex::new(target_rx)),
        rows: tx,
        progress: Arc::clone(&progress),
    };
    let outcomes = lanes::start(&ctx, &shared, ctx.settings.threads, concurrency);
    // Only the lanes hold the queue's receiver and the writer's sender now:
    // when every lane has stopped, the feeding below ends and so does the writer.
    drop(shared);

    // Back-pressure: the lanes hold at most `concurrency` domain tasks in
    // flight in all and pull the next target only when one finishes; the
    // queue holds `TARGET_QUEUE` targets, so `send().await` below suspends
    // this loop (and so the intake of targets) while the lanes are busy. A
    // finished row goes into the bounded channel to the writer with
    // `send().await`, which suspends its lane while the writer thread is
    // behind. Memory is bounded by `concurrency` tasks, the queue, the
    // channel's max(2 × `concurrency`, 8192) rows and the writer's
    // `rows_per_file` buffer.
    let todo = targets
        .take_while(|_| {
            let stop = cancel.is_cancelled();
            if stop {
                cut.store(true, Ordering::Relaxed);
            }
            !stop
        })
        .filter(|t| {
            let seen = done.contains(&t.domain);
            if seen {
                skipped.fetch_add(1, Ordering::Relaxed);
                progress.skipped.fetch_add(1, Ordering::Relaxed);
            }
            !seen
        });
    for target in todo {
        if target_tx.send(target).await.is_err() {
            // Every lane has stopped (the writer is gone, or a lane failed).
            break;
        }
    }
    drop(target_tx);
    let mut by_status = [0u64; 3];
    let mut writer_alive = true;
    let mut lane_error = None;
    for outcome in outcomes {
        match outcome.await {
            Ok(Ok(lane)) => {
                writer_alive &= lane.writer_alive;
                for (total, n) in by_status.iter_mut().zip(lane.by_status) {
                    *total += n;
                }
            }
            Ok(Err(e)) => lane_error = Some(e),
            Err(_) => lane_error = Some(String::from("a crawl thread stopped unexpectedly")),
        }
    }
    let cancelled = cut.load(Ordering::Relaxed);
    let outcome = writer_task.await.map_err(|_| CrawlError::WriterGone)?;
    let (mut manifest, parts) = outcome?;
    if !writer_alive {
        return Err(CrawlError::WriterGone);
    }
    if let Some(e) = lane_error {
        return Err(CrawlError::Lane(e));
    }
    manifest.complete = !cancelled;
    manifest.finished_at = Some(rfc3339_now());
    manifest.write(&dir)?;

    Ok(CrawlSummary {
        ok: by_status[0],
        nxdomain: by_status[1],
        error: by_status[2],
        skipped_resume: skipped.load(Ordering::Relaxed),
        rows_written: parts.iter().map(|p| p.rows).sum(),
        parts_written: parts.len() as u64,
        cancelled,
        complete: manifest.complete,
        cache: ctx.resolver.stats(),
        fetch: ctx.fetcher.stats(),
    })
}

/// The manifest at the start of a run: a new one, or the existing one with
/// `runs` incremented. Closed parts the old manifest does not list (a crash
/// between closing a part and rewriting the manifest) are read and counted.
fn start_manifest(
    run: &RunConfig,
    dir: &std::path::Path,
    limits: serde_json::Value,
    parts_on_disk: &[PathBuf],
) -> Result<Manifest, StoreError> {
    let mut m = match Manifest::read(dir)? {
        Some(mut old) => {
            old.runs = old.runs.saturating_add(1);
            old.finished_at = None;
            old
        }
        None => Manifest::new(&run.writer.tool_version, &run.snapshot_id),
    };
    m.tool_version.clone_from(&run.writer.tool_version);
    m.complete = false;
    m.limits = limits;
    m.resolvers.clone_from(&run.resolvers);
    m.psl.clone_from(&run.psl);
    if !run.inputs.is_empty() || m.inputs.is_empty() {
        m.inputs.clone_from(&run.inputs);
    }
    m.rejected_file.clone_from(&run.rejected_file);
    m.rejected_lines = run.rejected_lines;
    for path in parts_on_disk {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if m.parts.iter().any(|p| p.file == name) {
            continue;
        }
        let rows = authcensus_store::reader::read_rows(path)?;
        for r in &rows {
            *m.domain_status_counts
                .entry(r.domain_status.to_string())
                .or_default() += 1;
        }
        let bytes = std::fs::metadata(path).map(|md| md.len()).unwrap_or(0);
        m.rows += rows.len() as u64;
        m.parts.push(PartInfo {
            file: name,
            rows: rows.len() as u64,
            bytes,
        });
    }
    // Parts listed by the manifest but gone from disk are dropped with their rows.
    m.parts.retain(|p| {
        parts_on_disk
            .iter()
            .any(|d| d.file_name().is_some_and(|n| n.to_string_lossy() == p.file))
    });
    Ok(m)
}

/// The writer thread: pushes rows, records each closed part in the manifest.
fn write_rows(
    mut writer: SnapshotWriter,
    mut manifest: Manifest,
    mut rx: tokio::sync::mpsc::Receiver<Vec<SnapshotRow>>,
    existing_parts: usize,
    progress: &Progress,
) -> Result<(Manifest, Vec<PartInfo>), StoreError> {
    let dir = writer.dir().to_path_buf();
    // Statuses of the rows buffered in the writer (the next part's rows).
    let mut pending: BTreeMap<String, u64> = BTreeMap::new();
    let mut recorded = 0usize;
    let mut record = |manifest: &mut Manifest,
                      parts: &[PartInfo],
                      pending: &mut BTreeMap<String, u64>|
     -> Result<(), StoreError> {
        if parts.len() == recorded {
            return Ok(());
        }
        for part in &parts[recorded..] {
            manifest.rows += part.rows;
            progress
                .rows_written
                .fetch_add(part.rows, Ordering::Relaxed);
            manifest.parts.push(part.clone());
        }
        recorded = parts.len();
        for (status, n) in std::mem::take(pending) {
            *manifest.domain_status_counts.entry(status).or_default() += n;
        }
        manifest.write(&dir)
    };
    while let Some(rows) = rx.blocking_recv() {
        for row in rows {
            // Looked up by `&str`: a key is allocated once per status.
            match pending.get_mut(row.domain_status.as_ref()) {
                Some(n) => *n += 1,
                None => {
                    pending.insert(row.domain_status.to_string(), 1);
                }
            }
            writer.push(row)?;
            record(&mut manifest, writer.written(), &mut pending)?;
        }
    }
    let parts = writer.finish(existing_parts)?;
    record(&mut manifest, &parts, &mut pending)?;
    Ok((manifest, parts))
}
