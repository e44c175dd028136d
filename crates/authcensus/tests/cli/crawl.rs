//! `authcensus crawl` and `authcensus demo` end to end against the testbed
//! served on loopback: the crawl agrees with the ground truth on every
//! contract column for every domain; a crawl killed with SIGKILL at random
//! moments and resumed ends with exactly the rows of an uninterrupted crawl.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use authcensus_store::SnapshotRow;
use authcensus_store::layout::snapshot_dir;
use authcensus_store::reader::read_snapshot_rows;
use authcensus_testbed::{GenerateOptions, RunningTestbed, ServeOptions};
use authcensus_testsupport::shared_data_dir;

pub(crate) fn universe(n: usize, seed: u64, dir: &Path) {
    let mut opts = GenerateOptions::new(n, seed, dir);
    opts.realworld = shared_data_dir().join("realworld");
    authcensus_testbed::generate(&opts).unwrap();
}

/// `authcensus crawl --resolver RESOLVER` (with the testbed's CA and HTTPS
/// port when given) into `out/snapshot=s1`, then `extra` and `input`.
pub(crate) fn crawl_args_with(
    resolver: &str,
    tb: Option<&RunningTestbed>,
    out: &Path,
    timeout: &str,
    retries: &str,
    extra: &[&str],
    input: &Path,
) -> Vec<String> {
    let mut args: Vec<String> = vec!["crawl".into(), "--resolver".into(), resolver.into()];
    if let Some(tb) = tb {
        args.extend([
            "--ca-file".into(),
            tb.ca_pem_path.to_string_lossy().into_owned(),
            "--mta-sts-port".into(),
            tb.https_addr.port().to_string(),
        ]);
    }
    // The planted never-answering Policy Host holds a crawl until the fetch
    // deadline: 5 s instead of the default 20 s keeps the tests short and is
    // still ~500 times a loopback fetch in a debug build.
    args.extend(["--mta-sts-timeout".into(), MTA_STS_TIMEOUT_S.to_string()]);
    args.extend(
        [
            "--timeout",
            timeout,
            "--retries",
            retries,
            "--out",
            &out.to_string_lossy(),
            "--snapshot",
            "s1",
        ]
        .iter()
        .map(|x| x.to_string()),
    );
    args.extend(extra.iter().map(|x| x.to_string()));
    args.push(input.to_string_lossy().into_owned());
    args
}

/// `--mta-sts-timeout` of the CLI crawl tests (see [`crawl_args_with`]).
const MTA_STS_TIMEOUT_S: u64 = 5;

fn crawl_args(tb: &RunningTestbed, universe: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    crawl_args_with(
        &tb.dns_addr.to_string(),
        Some(tb),
        out,
        "0.4",
        "1",
        extra,
        &universe.join("domains.txt"),
    )
}

/// Runs the binary with `args`, stdin closed.
pub(crate) fn run(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_authcensus"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Asserts that `rows` equal the ground truth of the universe in `universe`.
pub(crate) fn assert_exact(universe: &Path, rows: &[SnapshotRow]) {
    let manifest = authcensus_testbed::read_manifest(universe).unwrap();
    let truth = read_snapshot_rows(&universe.join("truth")).unwrap();
    let report = authcensus_testbed::compare(&truth, rows, &manifest);
    let shown: Vec<String> = report
        .mismatches
        .iter()
        .take(20)
        .map(ToString::to_string)
        .collect();
    assert!(
        report.is_exact(),
        "crawl vs ground truth: {} mismatches by column {:?}, missing {:?}, extra {:?}, duplicated {:?}\n{}",
        report.mismatches.len(),
        report.by_column(),
        report.missing.iter().take(10).collect::<Vec<_>>(),
        report.extra.iter().take(10).collect::<Vec<_>>(),
        report.duplicated,
        shown.join("\n")
    );
    assert_eq!(report.rows_compared, truth.len());
    eprintln!(
        "ground truth: {} rows, {} cells agree",
        report.rows_compared, report.cells_compared
    );
}

#[test]
fn crawl_of_a_generated_universe_matches_its_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let uni = dir.path().join("universe");
    universe(5_000, 7, &uni);
    let tb = authcensus_testbed::serve(&uni, ServeOptions::default()).unwrap();
    let out = dir.path().join("out");
    let o = run(&crawl_args(&tb, &uni, &out, &[]));
    assert!(
        o.status.success(),
        "crawl failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let snap = snapshot_dir(&out, "s1");
    let rows = read_snapshot_rows(&snap).unwrap();
    assert_exact(&uni, &rows);
    // The same verdict through `authcensus testbed check` (what the benchmark
    // script runs at 1,000,000 domains), and a failing one for an empty snapshot.
    let check = |snapshot: &Path| {
        run(&[
            "testbed".into(),
            "check".into(),
            uni.to_string_lossy().into_owned(),
            snapshot.to_string_lossy().into_owned(),
        ])
    };
    let o = check(&snap);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    assert!(
        stdout.contains("ground truth: 5000 rows,")
            && stdout.contains("0 mismatches, 0 missing, 0 extra, 0 duplicated"),
        "{stdout}"
    );
    let never = authcensus_testbed::read_manifest(&uni)
        .unwrap()
        .never_answer
        .len();
    assert!(never > 0, "the testbed plants never-answering names");
    let o = run(&[
        "testbed".into(),
        "check".into(),
        "--skip-never-answer".into(),
        uni.to_string_lossy().into_owned(),
        snap.to_string_lossy().into_owned(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("ground truth: {} rows,", 5000 - never)),
        "{stdout}"
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = check(&empty);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("5000 missing"));
    let m = authcensus_store::Manifest::read(&snap).unwrap().unwrap();
    assert!(m.complete);
    assert_eq!(m.rows, 5_000);
    assert_eq!(m.domain_status_counts.values().sum::<u64>(), 5_000);
    assert_eq!(m.inputs.len(), 1);
    assert_eq!(m.inputs[0].accepted, 5_000);
    assert_eq!(m.psl.as_ref().map(|p| p.sha256.len()), Some(64));
}

/// The values a resumed crawl must reproduce: every column but the clock and
/// the per-domain query count (which depends on what the shared cache held).
fn comparable(mut rows: Vec<SnapshotRow>) -> Vec<SnapshotRow> {
    for r in &mut rows {
        r.crawled_at_us = 0;
        r.dns_queries = 0;
    }
    rows
}

#[test]
fn sigkill_at_random_moments_then_resume_equals_an_uninterrupted_crawl() {
    let dir = tempfile::tempdir().unwrap();
    let uni = dir.path().join("universe");
    universe(3_000, 11, &uni);
    let tb = authcensus_testbed::serve(&uni, ServeOptions::default()).unwrap();

    let reference = dir.path().join("reference");
    let o = run(&crawl_args(&tb, &uni, &reference, &[]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let expected = comparable(read_snapshot_rows(&snapshot_dir(&reference, "s1")).unwrap());
    assert_eq!(expected.len(), 3_000);

    // Small part files and a rate cap, so kills land between and inside parts.
    let out = dir.path().join("killed");
    let slow = crawl_args(
        &tb,
        &uni,
        &out,
        &[
            "--qps",
            "4000",
            "--concurrency",
            "64",
            "--rows-per-file",
            "250",
        ],
    );
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut kills = 0;
    for _ in 0..6 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = Duration::from_millis(300 + seed % 1200);
        let mut child = Command::new(env!("CARGO_BIN_EXE_authcensus"))
            .args(&slow)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(wait);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 5, "only {kills} runs were still going when killed");
    let o = run(&slow);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let snap = snapshot_dir(&out, "s1");
    let got = comparable(read_snapshot_rows(&snap).unwrap());
    assert_eq!(got.len(), expected.len(), "row count after resume");
    assert_eq!(got, expected);
    let m = authcensus_store::Manifest::read(&snap).unwrap().unwrap();
    assert!(m.complete);
    assert!(m.runs >= 2);
    assert_eq!(m.rows, 3_000);
}

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let o = Command::new(env!("CARGO_BIN_EXE_authcensus"))
        .args([
            "demo",
            "--domains",
            "2000",
            "--out",
            out.to_str().unwrap(),
            "--realworld",
            shared_data_dir().join("realworld").to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "demo failed:\n{stderr}\n{stdout}");
    assert!(
        stdout.contains("snapshot 2026-10-01: 2000 domains"),
        "{stdout}"
    );
    assert!(stdout.contains("diff 2026-10-01 -> 2026-11-01"), "{stdout}");
    assert_eq!(
        stderr
            .matches("0 mismatches, 0 missing, 0 extra, 0 duplicated")
            .count(),
        2,
        "{stderr}"
    );
    for id in ["2026-10-01", "2026-11-01"] {
        assert_eq!(
            read_snapshot_rows(&snapshot_dir(&out, id)).unwrap().len(),
            2000
        );
    }
}

/// A UDP port on loopback where nothing listens (bound, then freed).
fn closed_udp_port() -> String {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().to_string()
}

#[test]
fn a_resolver_where_nothing_listens_fails_fast_or_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let uni = dir.path().join("universe");
    universe(200, 3, &uni);
    let dead = closed_udp_port();
    let input = uni.join("domains.txt");

    // Only a dead resolver: an error at once, not 200 domains of timeouts.
    let out = dir.path().join("dead");
    let started = std::time::Instant::now();
    let o = run(&crawl_args_with(&dead, None, &out, "2", "2", &[], &input));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no DNS server listens at any resolver given") && stderr.contains(&dead),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        !snapshot_dir(&out, "s1").join("manifest.json").exists(),
        "no snapshot is started"
    );

    // A dead one next to a live one: left out with a warning, and the crawl
    // is as exact as with the live one alone.
    let tb = authcensus_testbed::serve(&uni, ServeOptions::default()).unwrap();
    let out = dir.path().join("mixed");
    let mut args = crawl_args(&tb, &uni, &out, &["--resolver", &dead]);
    // Put the dead resolver first, where rotation starts.
    let last_flag_value = args.len() - 2;
    args.swap(2, last_flag_value);
    let o = run(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("resolver {dead}")) && stderr.contains("crawling without it"),
        "{stderr}"
    );
    let snap = snapshot_dir(&out, "s1");
    let m = authcensus_store::Manifest::read(&snap).unwrap().unwrap();
    let used: Vec<&str> = m.resolvers.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(used, vec![tb.dns_addr.to_string().as_str()]);
    assert_exact(&uni, &read_snapshot_rows(&snap).unwrap());
}

/// `--mta-sts-timeout` is the policy fetch's deadline: the planted Policy
/// Host that accepts and never answers is a `timeout` fetch failure after
/// it (not after the default 20 s), the rest of the universe is exact, and
/// the manifest records the deadline used.
#[test]
fn mta_sts_timeout_bounds_a_hanging_policy_host() {
    let dir = tempfile::tempdir().unwrap();
    let uni = dir.path().join("universe");
    universe(300, 11, &uni);
    let tb = authcensus_testbed::serve(&uni, ServeOptions::default()).unwrap();
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let with_timeout = |out: &Path, secs: &str| {
        let mut args = crawl_args(&tb, &uni, out, &[]);
        let at = args.iter().position(|a| a == "--mta-sts-timeout").unwrap();
        args[at + 1] = secs.to_string();
        args
    };
    let o = run(&with_timeout(&out, "1"));
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let snap = snapshot_dir(&out, "s1");
    let rows = read_snapshot_rows(&snap).unwrap();
    assert_exact(&uni, &rows);
    let hanging = rows
        .iter()
        .find(|r| r.domain == "tb-mta-sts-timeout.net")
        .expect("the planted hanging Policy Host is in every universe");
    assert_eq!(hanging.mta_sts_status, "policy_fetch_failed");
    assert_eq!(hanging.mta_sts_fetch_error.as_deref(), Some("timeout"));
    let m = authcensus_store::Manifest::read(&snap).unwrap().unwrap();
    assert_eq!(m.limits["mta_sts_fetch_timeout_ms"], 1000, "{}", m.limits);
    // Nothing else in a 300-domain loopback crawl waits for seconds: with
    // the default deadline the run would last at least 20 s.
    assert!(took < Duration::from_secs(15), "crawl took {took:?}");

    let o = run(&with_timeout(&dir.path().join("bad"), "0"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("`--mta-sts-timeout` must be between"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
