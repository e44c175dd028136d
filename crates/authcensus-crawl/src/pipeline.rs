//! The crawl: targets in, one snapshot row per domain out, through a bounded
//! pipeline into the snapshot writer, with resume and cancellation.
//!
//! ```text
//! targets ──► buffer_unordered(concurrency) ──► bounded channel ──► writer thread
//!             (tokio tasks, one per domain)     (batches of rows)   (Parquet parts,
//!                                                                    manifest)
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use authcensus_records::dmarc::OrgDomain;
use authcensus_records::dns::Resolver;
use authcensus_store::manifest::rfc3339_now;
use authcensus_store::writer::PartInfo;
use authcensus_store::{Manifest, SnapshotRow, SnapshotWriter, StoreError, WriterOptions};
use futures::{FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::cache::CacheStats;
use crate::domain::{CrawlContext, base_row, crawl_domain};
use crate::fetch::{FetchSetupError, FetchStats};
use crate::settings::CrawlTarget;

/// Rows handed to the writer thread at once.
const ROW_BATCH: usize = 64;

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
    fn count(&self, status: &str) {
        self.done.fetch_add(1, Ordering::Relaxed);
        let c = match status {
            "ok" => &self.ok,
            "nxdomain" => &self.nxdomain,
            _ => &self.error,
        };
        c.fetch_add(1, Ordering::Relaxed);
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
    // Back-pressure: `buffer_unordered` holds at most `concurrency` domain
    // tasks in flight and pulls the next target only when one finishes; each
    // finished row goes into the bounded channel with `send().await`, which
    // suspends this loop (and so the intake of targets) while the writer
    // thread is behind. Memory is bounded by `concurrency` tasks, the
    // channel's max(2 × `concurrency`, 8192) rows and the writer's
    // `rows_per_file` buffer.
    let mut rows = futures::stream::iter(todo)
        .map(|target| {
            let ctx = ctx.clone();
            progress.started.fetch_add(1, Ordering::Relaxed);
            async move {
                let task_target = target.clone();
                let handle = tokio::spawn(async move { crawl_domain(&ctx, &task_target).await });
                // A panicking domain task must still yield a row.
                handle.await.unwrap_or_else(|_| base_row(&target))
            }
        })
        .buffer_unordered(concurrency);
    let mut writer_alive = true;
    let mut by_status = [0u64; 3];
    let mut batch = Vec::with_capacity(ROW_BATCH);
    loop {
        // A batch goes out when full, or as soon as no further row is ready
        // (so a slow crawl still hands every row over promptly).
        let next = match rows.next().now_or_never() {
            Some(next) => next,
            None => {
                if !hand_over(&tx, &mut batch).await {
                    writer_alive = false;
                    break;
                }
                rows.next().await
            }
        };
        let Some(row) = next else { break };
        progress.count(&row.domain_status);
        by_status[match row.domain_status.as_str() {
            "ok" => 0,
            "nxdomain" => 1,
            _ => 2,
        }] += 1;
        batch.push(row);
        if batch.len() >= ROW_BATCH && !hand_over(&tx, &mut batch).await {
            writer_alive = false;
            break;
        }
    }
    if writer_alive && !hand_over(&tx, &mut batch).await {
        writer_alive = false;
    }
    drop(rows);
    drop(tx);
    let cancelled = cut.load(Ordering::Relaxed);
    let outcome = writer_task.await.map_err(|_| CrawlError::WriterGone)?;
    let (mut manifest, parts) = outcome?;
    if !writer_alive {
        return Err(CrawlError::WriterGone);
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
                .entry(r.domain_status.clone())
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

/// Sends the rows gathered in `batch` (if any) to the writer thread, leaving
/// `batch` empty; false when the writer thread is gone.
async fn hand_over(
    tx: &tokio::sync::mpsc::Sender<Vec<SnapshotRow>>,
    batch: &mut Vec<SnapshotRow>,
) -> bool {
    if batch.is_empty() {
        return true;
    }
    let full = std::mem::replace(batch, Vec::with_capacity(ROW_BATCH));
    tx.send(full).await.is_ok()
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
            *pending.entry(row.domain_status.clone()).or_default() += 1;
            writer.push(row)?;
            record(&mut manifest, writer.written(), &mut pending)?;
        }
    }
    let parts = writer.finish(existing_parts)?;
    record(&mut manifest, &parts, &mut pending)?;
    Ok((manifest, parts))
}
