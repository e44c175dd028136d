//! Lanes: the crawl's domain tasks run on `threads` threads, each driving
//! its own single-threaded tokio runtime.
//!
//! One multi-threaded runtime spent about a fifth of the crawler's CPU per
//! query on moving work between its threads: a reply received on one worker
//! woke a domain task parked on the other (a futex wake and a thread
//! switch), tasks were stolen back and forth, and buffers allocated on one
//! thread were freed on another. A lane keeps a domain's whole life on one
//! thread: its lookups go out through the lane's own sockets (when the
//! [`crate::domain::LaneSetup`] gives it some, as the binary does), their
//! replies are received and matched on the same thread, and its row is
//! built there. Lanes share what must be shared: the targets (one bounded
//! queue they all pull from, so a lane slowed by timeouts takes fewer), the
//! DNS cache, the fetcher, the rate limits and the writer's channel.
//!
//! A lane that has run out of targets keeps driving its runtime until every
//! lane is done: a pooled HTTPS connection, or a lookup another lane's
//! domain shares through the cache, may live on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use authcensus_records::dmarc::OrgDomain;
use authcensus_records::dns::Resolver;
use authcensus_store::SnapshotRow;
use futures::{FutureExt, StreamExt};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::domain::{CrawlContext, base_row, crawl_domain};
use crate::pipeline::Progress;
use crate::settings::CrawlTarget;

/// Targets a lane takes from the shared queue at once.
const GRAB: usize = 64;

/// Rows handed to the writer thread at once.
pub(crate) const ROW_BATCH: usize = 256;

/// Longest a finished row waits in a lane's partial batch before it is
/// handed to the writer anyway (a slow crawl's rows still reach the writer
/// promptly).
const FLUSH_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// What the lanes share.
pub(crate) struct Shared {
    /// The targets, pulled by whichever lane has room.
    pub(crate) targets: Arc<Mutex<mpsc::Receiver<CrawlTarget>>>,
    /// Batches of rows to the writer thread.
    pub(crate) rows: mpsc::Sender<Vec<SnapshotRow>>,
    pub(crate) progress: Arc<Progress>,
}

impl Clone for Shared {
    fn clone(&self) -> Self {
        Shared {
            targets: Arc::clone(&self.targets),
            rows: self.rows.clone(),
            progress: Arc::clone(&self.progress),
        }
    }
}

/// What one lane did.
#[derive(Debug, Default)]
pub(crate) struct LaneOutcome {
    /// Rows by `domain_status`: ok, nxdomain, other.
    pub(crate) by_status: [u64; 3],
    /// False when the writer's channel closed under the lane.
    pub(crate) writer_alive: bool,
}

/// Marks a lane finished when dropped (also on a panic), and wakes every
/// lane when the last one finishes.
struct Finished {
    remaining: Arc<AtomicUsize>,
    all_done: CancellationToken,
}

impl Drop for Finished {
    fn drop(&mut self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.all_done.cancel();
        }
    }
}

/// Starts `threads` lanes (at most `concurrency`) sharing `concurrency`
/// domains in flight; each lane's outcome arrives on its channel once its
/// thread has stopped its runtime (an error: the thread or its setup failed).
pub(crate) fn start<R, O>(
    ctx: &CrawlContext<R, O>,
    shared: &Shared,
    threads: usize,
    concurrency: usize,
) -> Vec<oneshot::Receiver<Result<LaneOutcome, String>>>
where
    R: Resolver + Send + Sync + 'static,
    O: OrgDomain + Send + Sync + 'static,
{
    // Never more lanes than domains in flight; the lanes' shares add up to
    // exactly `concurrency`.
    let concurrency = concurrency.max(1);
    let threads = threads.clamp(1, concurrency);
    let remaining = Arc::new(AtomicUsize::new(threads));
    let all_done = CancellationToken::new();
    let mut outcomes = Vec::with_capacity(threads);
    for i in 0..threads {
        let per_lane = concurrency / threads + usize::from(i < concurrency % threads);
        let (tx, rx) = oneshot::channel();
        outcomes.push(rx);
        let finished = Finished {
            remaining: Arc::clone(&remaining),
            all_done: all_done.clone(),
        };
        let (ctx, shared) = (ctx.clone(), shared.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("authcensus-lane-{i}"))
            .spawn(move || {
                let out = run_thread(ctx, shared, per_lane, finished);
                let _ = tx.send(out);
            });
        if let Err(e) = spawned {
            // `finished` went down with the closure; the receiver reports it.
            tracing::error!("cannot start crawl thread {i}: {e}");
        }
    }
    outcomes
}

fn run_thread<R, O>(
    ctx: CrawlContext<R, O>,
    shared: Shared,
    per_lane: usize,
    finished: Finished,
) -> Result<LaneOutcome, String>
where
    R: Resolver + Send + Sync + 'static,
    O: OrgDomain + Send + Sync + 'static,
{
    lower_priority(ctx.settings.nice);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting a crawl thread's runtime: {e}"))?;
    let all_done = finished.all_done.clone();
    let out = runtime.block_on(async move {
        let guard = match &ctx.lane_setup {
            Some(setup) => Some(setup().await?),
            None => None,
        };
        let out = run_lane(&ctx, &shared, per_lane).await;
        drop(shared);
        drop(finished);
        all_done.cancelled().await;
        drop(guard);
        Ok(out)
    });
    drop(runtime);
    out
}

/// Adds `nice` to the calling thread's nice value (at most 19, the lowest
/// priority; `setpriority(2)`: on Linux the nice value belongs to each
/// thread, and `PRIO_PROCESS` with ID 0 names the calling one). Raising
/// one's own nice value needs no privilege. Elsewhere the call would lower
/// the whole process once per lane, so nothing is changed there. A refusal
/// is logged, and the crawl goes on at the priority it has.
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let result = getpriority_process(None)
            .and_then(|now| setpriority_process(None, now.saturating_add(nice).min(19)));
        if let Err(e) = result {
            tracing::warn!("cannot lower a crawl thread's CPU priority by {nice}: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    tracing::debug!("--nice {nice} ignored: thread priorities are set on Linux only");
}

/// Crawls targets from the shared queue, up to `per_lane` at once, until
/// the queue ends. Cancellation stops the feeding of the queue (in
/// [`crate::crawl`]), not the lanes: the targets already queued are crawled,
/// so exactly the targets taken from the input get rows.
async fn run_lane<R, O>(ctx: &CrawlContext<R, O>, shared: &Shared, per_lane: usize) -> LaneOutcome
where
    R: Resolver + Send + Sync + 'static,
    O: OrgDomain + Send + Sync + 'static,
{
    // Targets are taken `GRAB` at a time: one wake-up of the feeding task
    // (on another thread) per grab rather than per domain.
    let targets = futures::stream::unfold(
        (Arc::clone(&shared.targets), Vec::new().into_iter()),
        |(queue, mut grabbed)| async move {
            if grabbed.as_slice().is_empty() {
                let mut more = Vec::with_capacity(GRAB);
                if queue.lock().await.recv_many(&mut more, GRAB).await == 0 {
                    return None;
                }
                grabbed = more.into_iter();
            }
            let next = grabbed.next()?;
            Some((next, (queue, grabbed)))
        },
    );
    let rows = targets
        .map(|target| {
            let ctx = ctx.clone();
            shared.progress.started.fetch_add(1, Ordering::Relaxed);
            async move {
                let task_target = target.clone();
                // Boxed: the task then holds a pointer, and the domain's
                // future (kilobytes: seven lookups joined) is not copied
                // into the task on spawn.
                let handle =
                    tokio::spawn(Box::pin(
                        async move { crawl_domain(&ctx, &task_target).await },
                    ));
                // A panicking domain task must still yield a row.
                handle.await.unwrap_or_else(|_| base_row(&target))
            }
        })
        .buffer_unordered(per_lane);
    let mut rows = std::pin::pin!(rows);
    let mut out = LaneOutcome {
        writer_alive: true,
        ..LaneOutcome::default()
    };
    let mut batch = Vec::with_capacity(ROW_BATCH);
    // A batch goes out when full, or when its first row has waited
    // `FLUSH_AFTER` and no further row is ready. Handing a partial batch
    // over whenever no row was ready (until 2026-12-07) sent a few rows at a
    // time in a fast crawl, each send waking the writer thread: 58,293
    // `futex` calls and 108,318 context switches per 100,000 domains
    // against Knot, 5,035 and 46,958 now (benches/README.md, "Fewer
    // hand-overs to the writer").
    let flush = tokio::time::sleep(FLUSH_AFTER);
    let mut flush = std::pin::pin!(flush);
    loop {
        let next = match rows.next().now_or_never() {
            Some(next) => next,
            None if batch.is_empty() => rows.next().await,
            None => {
                tokio::select! {
                    biased;
                    next = rows.next() => next,
                    () = &mut flush => {
                        if !hand_over(&shared.rows, &mut batch).await {
                            out.writer_alive = false;
                            return out;
                        }
                        rows.next().await
                    }
                }
            }
        };
        let Some(row) = next else { break };
        if let Some(n) = out
            .by_status
            .get_mut(shared.progress.count(&row.domain_status))
        {
            *n += 1;
        }
        if batch.is_empty() {
            flush
                .as_mut()
                .reset(tokio::time::Instant::now() + FLUSH_AFTER);
        }
        batch.push(row);
        if batch.len() >= ROW_BATCH && !hand_over(&shared.rows, &mut batch).await {
            out.writer_alive = false;
            return out;
        }
    }
    if !hand_over(&shared.rows, &mut batch).await {
        out.writer_alive = false;
    }
    out
}

/// Sends the rows gathered in `batch` (if any) to the writer thread, leaving
/// `batch` empty; false when the writer thread is gone.
async fn hand_over(tx: &mpsc::Sender<Vec<SnapshotRow>>, batch: &mut Vec<SnapshotRow>) -> bool {
    if batch.is_empty() {
        return true;
    }
    let full = std::mem::replace(batch, Vec::with_capacity(ROW_BATCH));
    tx.send(full).await.is_ok()
}
