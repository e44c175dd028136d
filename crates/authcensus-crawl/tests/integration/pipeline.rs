//! The pipeline: 200 targets into a snapshot, one row per domain; resume;
//! cancellation; lanes (crawl threads).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use authcensus_crawl::{
    CancellationToken, CrawlContext, CrawlError, CrawlSettings, CrawlSummary, CrawlTarget,
    Progress, RunConfig, crawl, lane_setup,
};
use authcensus_records::dns::{DnsFailure, MemoryResolver, RecordType, TxtRecord};
use authcensus_store::{Manifest, WriterOptions};

use crate::domain::{Org, Slow, org, target};

const N: usize = 200;

fn name(i: usize) -> String {
    format!("d{i:03}.example")
}

/// Every 10th domain does not exist, every 25th times out, the rest have SPF.
fn universe() -> MemoryResolver {
    let mut r = MemoryResolver::new();
    for i in 0..N {
        let d = name(i);
        if i % 10 == 0 {
            continue;
        }
        if i % 25 == 1 {
            r.fail(&d, RecordType::Txt, DnsFailure::Timeout).fail(
                &d,
                RecordType::Mx,
                DnsFailure::Timeout,
            );
            continue;
        }
        r.add_txt(
            &d,
            TxtRecord::single("v=spf1 include:_spf.shared.example -all"),
        )
        .add_mx(&d, 10, "mx.shared.example");
    }
    r.add_txt(
        "_spf.shared.example",
        TxtRecord::single("v=spf1 ip4:192.0.2.0/24 -all"),
    );
    r
}

fn expected_counts(range: std::ops::Range<usize>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for i in range {
        let s = if i % 10 == 0 {
            "nxdomain"
        } else if i % 25 == 1 {
            "error"
        } else {
            "ok"
        };
        *m.entry(s.to_string()).or_default() += 1;
    }
    m
}

fn run_config(out: &Path) -> RunConfig {
    RunConfig {
        out_dir: out.to_path_buf(),
        snapshot_id: String::from("2026-11-22"),
        writer: WriterOptions {
            rows_per_file: 50,
            row_group_rows: 20,
            tool_version: String::from("test"),
            ..WriterOptions::default()
        },
        resolvers: vec![],
        psl: None,
        inputs: vec![],
        rejected_file: None,
        rejected_lines: 0,
    }
}

/// Three lanes (crawl threads), so every test here runs several.
fn context() -> CrawlContext<MemoryResolver, Org> {
    context_with_threads(3)
}

fn context_with_threads(threads: usize) -> CrawlContext<MemoryResolver, Org> {
    context_with(16, threads, org)
}

/// A context over [`universe`] with `concurrency` domains in flight on
/// `threads` lanes and `org` as the organisational-domain oracle.
fn context_with(concurrency: usize, threads: usize, org: Org) -> CrawlContext<MemoryResolver, Org> {
    context_from(
        CrawlSettings {
            concurrency,
            threads,
            ..CrawlSettings::default()
        },
        org,
    )
}

/// A context over [`universe`] with `settings` (the system roots off).
fn context_from(settings: CrawlSettings, org: Org) -> CrawlContext<MemoryResolver, Org> {
    let settings = CrawlSettings {
        system_roots: false,
        ..settings
    };
    CrawlContext::new(universe(), org, settings).unwrap()
}

/// Crawls every domain of [`universe`] with `ctx` into `out` and checks the
/// run completed with one row per domain.
async fn crawl_all(ctx: CrawlContext<MemoryResolver, Org>, out: &Path) {
    let summary = run_with(
        ctx,
        out,
        (0..N).map(|i| target(&name(i))),
        CancellationToken::new(),
    )
    .await;
    assert!(summary.complete);
    assert_one_row_per_domain(&read_back(out), N);
}

async fn run_with(
    ctx: CrawlContext<MemoryResolver, Org>,
    out: &Path,
    targets: impl Iterator<Item = CrawlTarget> + Send,
    cancel: CancellationToken,
) -> CrawlSummary {
    let progress = Arc::new(Progress::default());
    let summary = crawl(targets, ctx, run_config(out), Arc::clone(&progress), cancel)
        .await
        .unwrap();
    // The counters the binary polls agree with the summary.
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(load(&progress.ok), summary.ok);
    assert_eq!(
        load(&progress.done),
        summary.ok + summary.nxdomain + summary.error
    );
    assert_eq!(load(&progress.skipped), summary.skipped_resume);
    assert_eq!(load(&progress.rows_written), summary.rows_written);
    summary
}

async fn run(
    out: &Path,
    targets: impl Iterator<Item = CrawlTarget> + Send,
    cancel: CancellationToken,
) -> CrawlSummary {
    run_with(context(), out, targets, cancel).await
}

fn snapshot_dir(out: &Path) -> std::path::PathBuf {
    authcensus_store::layout::snapshot_dir(out, "2026-11-22")
}

fn read_back(out: &Path) -> Vec<authcensus_store::SnapshotRow> {
    authcensus_store::reader::read_snapshot_rows(&snapshot_dir(out)).unwrap()
}

fn assert_one_row_per_domain(rows: &[authcensus_store::SnapshotRow], n: usize) {
    let domains: BTreeSet<&str> = rows.iter().map(|r| r.domain.as_str()).collect();
    assert_eq!(rows.len(), n, "one row per domain, no duplicates");
    assert_eq!(
        domains,
        (0..n)
            .map(name)
            .collect::<BTreeSet<_>>()
            .iter()
            .map(String::as_str)
            .collect()
    );
}

#[test]
fn the_crawl_future_is_send() {
    // The binary may spawn the crawl on a runtime: its future must be Send.
    fn assert_send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let fut = run(dir.path(), std::iter::empty(), CancellationToken::new());
    assert_send(&fut);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_domains_one_row_each() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(
        dir.path(),
        (0..N).map(|i| target(&name(i))),
        CancellationToken::new(),
    )
    .await;
    let rows = read_back(dir.path());
    assert_one_row_per_domain(&rows, N);
    let expected = expected_counts(0..N);
    assert_eq!(summary.ok, expected["ok"]);
    assert_eq!(summary.nxdomain, expected["nxdomain"]);
    assert_eq!(summary.error, expected["error"]);
    assert_eq!((summary.rows_written, summary.parts_written), (200, 4));
    assert!(summary.complete && !summary.cancelled);
    // Each domain's seven own names (TXT, MX, `_dmarc`, `_mta-sts`,
    // `_smtp._tls`, `default._bimi`, NS) go past the cache; the two shared
    // names (`_dmarc.example`, the tree-walk step, and the include
    // `_spf.shared.example`) are asked once each and then cached.
    let c = summary.cache;
    assert_eq!((c.misses, c.entries), (7 * N as u64 + 2, 2), "{c:?}");
    // The tree-walk step came from the cache for all but the first domain.
    // The include's analysis comes from the SPF memo once the first domain
    // has put it there; domains that reached the include before that (a
    // race, usually none) wait on or hit the cached answer instead.
    let with_spf = expected["ok"];
    assert!(
        (N as u64 - 1..N as u64 - 1 + with_spf).contains(&c.hits),
        "{c:?}"
    );
    for r in &rows {
        let i: usize = r.domain[1..4].parse().unwrap();
        assert_eq!(
            r.domain_status,
            expected_counts(i..i + 1).keys().next().unwrap().as_str()
        );
        if r.domain_status == "ok" {
            assert_eq!(r.spf_status, "valid");
            assert_eq!(r.mx_exchanges, vec!["mx.shared.example".to_string()]);
        }
    }
    let m = Manifest::read(&snapshot_dir(dir.path())).unwrap().unwrap();
    assert!(m.complete);
    assert_eq!(m.runs, 1);
    assert_eq!(m.rows, 200);
    assert_eq!(m.parts.len(), 4);
    assert_eq!(m.domain_status_counts, expected);
    assert!(m.finished_at.is_some());
    assert_eq!(m.limits["concurrency"], 16);
    assert_eq!(m.limits["spf_limits"]["max_dns_terms"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_skips_done_domains() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(
        dir.path(),
        (0..N / 2).map(|i| target(&name(i))),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(first.rows_written, 100);
    let second = run(
        dir.path(),
        (0..N).map(|i| target(&name(i))),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(second.skipped_resume, 100);
    assert_eq!(second.rows_written, 100);
    assert_one_row_per_domain(&read_back(dir.path()), N);
    let m = Manifest::read(&snapshot_dir(dir.path())).unwrap().unwrap();
    assert_eq!(m.runs, 2);
    assert!(m.complete);
    assert_eq!(m.rows, 200);
    assert_eq!(m.domain_status_counts, expected_counts(0..N));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_leaves_an_incomplete_resumable_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    // Pulling the 60th target fires the cancellation: it and every later
    // target are never started; the 59 before it finish and are written.
    let targets = (0..N).map(move |i| {
        if i == 59 {
            trigger.cancel();
        }
        target(&name(i))
    });
    let summary = run(dir.path(), targets, cancel).await;
    assert!(summary.cancelled && !summary.complete);
    let rows = read_back(dir.path());
    assert_eq!(rows.len(), 59);
    let m = Manifest::read(&snapshot_dir(dir.path())).unwrap().unwrap();
    assert!(!m.complete);
    assert_eq!(m.rows, rows.len() as u64);
    // Resume finishes the job.
    let summary = run(
        dir.path(),
        (0..N).map(|i| target(&name(i))),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(summary.skipped_resume, rows.len() as u64);
    assert_one_row_per_domain(&read_back(dir.path()), N);
    let m = Manifest::read(&snapshot_dir(dir.path())).unwrap().unwrap();
    assert!(m.complete);
    assert_eq!(m.runs, 2);
    assert_eq!(m.domain_status_counts, expected_counts(0..N));
}

/// An organisational-domain oracle that panics on one name: a bug in one
/// domain's processing must cost that domain its data, not the crawl.
fn panicky_org(name: &str) -> Option<String> {
    if name == "d005.example" {
        panic!("simulated bug while processing {name}");
    }
    org(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_domain_still_gets_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context_with(4, 2, panicky_org);
    let summary = run_with(
        ctx,
        dir.path(),
        (0..20).map(|i| target(&name(i))),
        CancellationToken::new(),
    )
    .await;
    assert!(summary.complete);
    let rows = read_back(dir.path());
    assert_eq!(rows.len(), 20);
    let row = rows.iter().find(|r| r.domain == "d005.example").unwrap();
    assert_eq!(row.domain_status, "error");
    assert_eq!(row.input_source, "test");
    assert_eq!(row.spf_status, "temperror");
    let ok = rows.iter().filter(|r| r.domain_status == "ok").count() as u64;
    assert_eq!(ok, summary.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_after_the_last_target_keeps_the_run_complete() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    // The signal arrives when the input is exhausted, with domains in flight.
    let targets = (0..30)
        .map(|i| target(&name(i)))
        .chain(std::iter::from_fn(move || {
            trigger.cancel();
            None
        }));
    let summary = run(dir.path(), targets, cancel.clone()).await;
    assert!(cancel.is_cancelled());
    assert!(!summary.cancelled && summary.complete);
    assert_eq!(read_back(dir.path()).len(), 30);
    let m = Manifest::read(&snapshot_dir(dir.path())).unwrap().unwrap();
    assert!(m.complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_lane_and_three_lanes_write_the_same_rows() {
    let mut by_lanes = Vec::new();
    for threads in [1, 3] {
        let dir = tempfile::tempdir().unwrap();
        let summary = run_with(
            context_with_threads(threads),
            dir.path(),
            (0..N).map(|i| target(&name(i))),
            CancellationToken::new(),
        )
        .await;
        assert!(summary.complete);
        let mut rows = read_back(dir.path());
        assert_one_row_per_domain(&rows, N);
        rows.sort_by(|a, b| a.domain.cmp(&b.domain));
        // Which domain pays for a shared lookup (the cache's first miss)
        // depends on timing; what was paid in all does not.
        let queries: i64 = rows.iter().map(|r| i64::from(r.dns_queries)).sum();
        for r in &mut rows {
            r.crawled_at_us = 0;
            r.dns_queries = 0;
        }
        by_lanes.push((rows, queries));
    }
    assert_eq!(by_lanes[0].1, by_lanes[1].1);
    for (a, b) in by_lanes[0].0.iter().zip(&by_lanes[1].0) {
        assert_eq!(a, b);
    }
}

/// Counts the lanes that ended (dropped their setup's value).
struct LaneEnd(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for LaneEnd {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_lane_runs_its_setup_on_its_own_thread_and_keeps_it_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let threads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let ended = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut ctx = context_with_threads(3);
    let (t, e) = (Arc::clone(&threads), Arc::clone(&ended));
    ctx.lane_setup = Some(lane_setup(move || {
        let (t, e) = (Arc::clone(&t), Arc::clone(&e));
        async move {
            t.lock().unwrap().push(std::thread::current().id());
            // Not ended before the crawl is over.
            assert_eq!(e.load(std::sync::atomic::Ordering::SeqCst), 0);
            Ok::<_, String>(LaneEnd(e))
        }
    }));
    crawl_all(ctx, dir.path()).await;
    let threads = threads.lock().unwrap().clone();
    let distinct: BTreeSet<String> = threads.iter().map(|t| format!("{t:?}")).collect();
    assert_eq!((threads.len(), distinct.len()), (3, 3), "{threads:?}");
    assert!(!threads.contains(&std::thread::current().id()));
    assert_eq!(ended.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// The calling thread's nice value, from `/proc/thread-self/stat` (field 19;
/// the fields are counted after the command name, which may hold spaces).
#[cfg(target_os = "linux")]
fn thread_nice() -> i32 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.split_whitespace().nth(16).unwrap().parse().unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_threads_run_at_the_nice_value_they_were_given_and_nothing_else_does() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let settings = CrawlSettings {
        concurrency: 16,
        threads: 2,
        nice: 3,
        ..CrawlSettings::default()
    };
    let mut ctx = context_from(settings, org);
    let s = Arc::clone(&seen);
    ctx.lane_setup = Some(lane_setup(move || {
        let s = Arc::clone(&s);
        async move {
            s.lock().unwrap().push(thread_nice());
            Ok::<_, String>(())
        }
    }));
    let before = thread_nice();
    crawl_all(ctx, dir.path()).await;
    // Each lane added 3 to the nice value it started with (19 at most);
    // the thread that started the crawl kept its own.
    let want = (before + 3).min(19);
    assert_eq!(*seen.lock().unwrap(), vec![want, want]);
    assert_eq!(thread_nice(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_setup_failure_is_a_crawl_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context_with_threads(2);
    ctx.lane_setup = Some(lane_setup(|| async {
        Err::<(), _>(String::from("no sockets for you"))
    }));
    let err = crawl(
        (0..N).map(|i| target(&name(i))),
        ctx,
        run_config(dir.path()),
        Arc::new(Progress::default()),
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, CrawlError::Lane(m) if m.contains("no sockets for you")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_more_lanes_than_domains_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context_with(2, 5, org);
    let lanes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let l = Arc::clone(&lanes);
    ctx.lane_setup = Some(lane_setup(move || {
        l.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { Ok::<_, String>(()) }
    }));
    let summary = run_with(
        ctx,
        dir.path(),
        (0..40).map(|i| target(&name(i))),
        CancellationToken::new(),
    )
    .await;
    assert!(summary.complete);
    assert_eq!(read_back(dir.path()).len(), 40);
    assert_eq!(lanes.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// How long every lookup of a name under `slow.example` takes below.
const STALL: std::time::Duration = std::time::Duration::from_secs(3);

/// A lane batches finished rows for the writer thread, but a row does not
/// wait in a part-full batch for the rest of the crawl: while one domain
/// is stuck in slow lookups, the row of the domain that finished is
/// written (here each row closes a part file, so the progress counter of
/// written rows shows it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_row_is_written_while_another_domain_is_stuck() {
    let dir = tempfile::tempdir().unwrap();
    let settings = CrawlSettings {
        concurrency: 2,
        threads: 1,
        system_roots: false,
        ..CrawlSettings::default()
    };
    let slow = Slow {
        only_under: Some("slow.example"),
        ..Slow::new(universe(), STALL)
    };
    let ctx = CrawlContext::new(slow, org as Org, settings).unwrap();
    let mut config = run_config(dir.path());
    config.writer.rows_per_file = 1;
    config.writer.row_group_rows = 1;
    let progress = Arc::new(Progress::default());
    let started = std::time::Instant::now();
    let crawl = tokio::spawn(crawl(
        ["d001.example", "slow.example"].into_iter().map(target),
        ctx,
        config,
        Arc::clone(&progress),
        CancellationToken::new(),
    ));
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    while load(&progress.rows_written) == 0 && started.elapsed() < STALL {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let written_at = started.elapsed();
    assert!(
        written_at < STALL.mul_f64(0.8),
        "the fast domain's row was written only after {written_at:?}"
    );
    assert_eq!(load(&progress.done), 1, "the slow domain is still crawling");
    let summary = crawl.await.unwrap().unwrap();
    assert!(summary.complete);
    assert_eq!((summary.rows_written, summary.parts_written), (2, 2));
}
