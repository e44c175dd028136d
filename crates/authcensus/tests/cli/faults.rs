//! `authcensus crawl` under faults (issue 10): a lossy network, an
//! unwritable output, SIGTERM mid-crawl, and bad input. The crawl keeps
//! going, stays bounded, and says what happened in the statuses, the exit
//! code and the manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use authcensus_store::layout::{REJECTED_FILE, is_temporary, list_dir, part_files, snapshot_dir};
use authcensus_store::reader::{read_rows, read_snapshot_rows};
use authcensus_store::{Manifest, SnapshotRow};
use authcensus_testbed::{FaultOptions, RunningTestbed, ServeOptions};

use super::crawl::{assert_exact, crawl_args_with, run, universe};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_authcensus"));
    c.stdin(Stdio::null());
    c
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `authcensus crawl` against `tb` with `timeout`/`retries`, then `extra`
/// and the input `input`.
fn crawl_args(
    tb: &RunningTestbed,
    out: &Path,
    timeout: &str,
    retries: &str,
    extra: &[&str],
    input: &Path,
) -> Vec<String> {
    crawl_args_with(
        &tb.dns_addr.to_string(),
        Some(tb),
        out,
        timeout,
        retries,
        extra,
        input,
    )
}

fn manifest(snap: &Path) -> Manifest {
    Manifest::read(snap).unwrap().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// DNS outcome labels of a failed lookup (`DnsFailure::label`).
fn dns_failed(label: &str) -> bool {
    matches!(label, "servfail" | "refused" | "timeout" | "error")
}

/// Whether the crawled row itself says that `column` could not be read:
/// the failure status of the protocol the column belongs to.
fn explained(column: &str, row: &SnapshotRow) -> bool {
    let sts_failed = matches!(
        row.mta_sts_status.as_ref(),
        "dns_error" | "policy_fetch_failed"
    );
    match column {
        "domain_status" => row.domain_status == "error",
        "mx_exchanges" | "mx_null" => dns_failed(&row.mx_dns_status),
        // The mismatch flag compares the policy with the MX hosts.
        "mta_sts_mx_mismatch" => sts_failed || dns_failed(&row.mx_dns_status),
        "tlsrpt_status" => row.tlsrpt_status == "dns_error",
        c if c.starts_with("spf_") => {
            row.spf_status == "temperror" || dns_failed(&row.spf_dns_status)
        }
        c if c.starts_with("dmarc_") => row.dmarc_status == "temperror",
        c if c.starts_with("mta_sts_") => sts_failed,
        c if c.starts_with("bimi_") => row.bimi_status == "dns_error",
        _ => false,
    }
}

/// Domains of the faulty-network crawl in every `cargo test` (a debug
/// build). Measured on the 2-core development machine (shared with other
/// builds, load ~6): 5,000 domains generate in 1.5 s and crawl in 77 s under
/// these faults (a dropped query waits out the 0.3 s timeout, up to 3
/// retries; the window then read random loss as congestion and sat at its
/// floor; with `--window-min 512`, 25 s, of which 20 s were the planted
/// never-answering Policy Host's fetch deadline; with the tests' 5 s
/// `--mta-sts-timeout`, 8 s on 2026-12-06). Since 2026-12-07 the default
/// window does not halve on random loss and the test runs with it. The
/// issue's 50,000-domain run is the same test with
/// `AUTHCENSUS_FAULT_DOMAINS=50000`, run by `.ci/run`.
const FAULT_DOMAINS: usize = 5_000;

/// Share of answers delayed by a 200 ms latency spike.
const SPIKE_RATE: f64 = 0.05;

/// Share of delegations whose servers never answer.
const SILENT_RATE: f64 = 0.02;

fn fault_domains() -> usize {
    std::env::var("AUTHCENSUS_FAULT_DOMAINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FAULT_DOMAINS)
}

/// (a) 10 % of DNS queries dropped, 5 % SERVFAIL, 5 % truncated (forcing
/// TCP), 5 % of answers held back by a 200 ms latency spike, and 2 % of
/// delegations whose servers never answer. The crawl completes, every
/// domain has exactly one row, every domain whose servers never answer says
/// `domain_status = 'error'`, and every value that differs from the ground
/// truth sits under a failure status: faults never turn into a wrong
/// present/absent answer. Among the domains whose servers do answer,
/// retries recover at least [`RECOVERY_FLOOR`] of the rows exactly.
#[test]
fn faulty_network_crawl_completes_and_failures_are_statuses() {
    let n = fault_domains();
    let dir = tempfile::tempdir().unwrap();
    let uni = dir.path().join("universe");
    let started = Instant::now();
    universe(n, 23, &uni);
    let generated = started.elapsed();
    let faults = FaultOptions {
        latency: Duration::ZERO,
        drop_rate: 0.10,
        servfail_rate: 0.05,
        truncate_rate: 0.05,
        spike_rate: SPIKE_RATE,
        spike_latency: Duration::from_millis(200),
        silent_rate: SILENT_RATE,
        seed: 0x5eed,
    };
    let tb = authcensus_testbed::serve(
        &uni,
        ServeOptions {
            faults,
            ..ServeOptions::default()
        },
    )
    .unwrap();
    let out = dir.path().join("out");
    // The default window: random losses and silent servers are not a
    // congested resolver, and must not hold the window at its floor.
    let args = crawl_args(&tb, &out, "0.3", "3", &[], &uni.join("domains.txt"));
    let o = run(&args);
    let crawled = started.elapsed() - generated;
    assert!(o.status.success(), "crawl failed: {}", stderr(&o));

    let snap = snapshot_dir(&out, "s1");
    let m = manifest(&snap);
    assert!(m.complete);
    assert_eq!(m.rows, n as u64);
    assert_eq!(m.domain_status_counts.values().sum::<u64>(), n as u64);
    let rows = read_snapshot_rows(&snap).unwrap();
    assert_eq!(rows.len(), n);
    let domains: BTreeSet<&str> = rows.iter().map(|r| r.domain.as_str()).collect();
    assert_eq!(domains.len(), n, "one row per domain");

    let truth = read_snapshot_rows(&uni.join("truth")).unwrap();
    let tm = authcensus_testbed::read_manifest(&uni).unwrap();
    let report = authcensus_testbed::compare(&truth, &rows, &tm);
    assert!(report.missing.is_empty(), "{:?}", &report.missing[..]);
    assert!(report.extra.is_empty(), "{:?}", &report.extra[..]);
    assert!(report.duplicated.is_empty(), "{:?}", report.duplicated);
    assert_eq!(report.rows_compared, n);

    let by_domain: BTreeMap<&str, &SnapshotRow> =
        rows.iter().map(|r| (r.domain.as_str(), r)).collect();
    let unexplained: Vec<String> = report
        .mismatches
        .iter()
        .filter(|x| !explained(&x.column, by_domain[x.domain.as_str()]))
        .map(|x| {
            let r = by_domain[x.domain.as_str()];
            format!(
                "{x} (domain {} spf {}/{} dmarc {} mx {} sts {} tlsrpt {} bimi {})",
                r.domain_status,
                r.spf_status,
                r.spf_dns_status,
                r.dmarc_status,
                r.mx_dns_status,
                r.mta_sts_status,
                r.tlsrpt_status,
                r.bimi_status
            )
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} wrong values without a failure status:\n{}",
        unexplained.len(),
        unexplained[..unexplained.len().min(20)].join("\n")
    );

    let affected: BTreeSet<&str> = report
        .mismatches
        .iter()
        .map(|x| x.domain.as_str())
        .collect();
    let silent: BTreeSet<&str> = rows
        .iter()
        .map(|r| r.domain.as_str())
        .filter(|d| tb.never_answers(d))
        .collect();
    let wrongly_reachable: Vec<&str> = silent
        .iter()
        .copied()
        .filter(|d| by_domain[d].domain_status != "error")
        .collect();
    assert!(
        wrongly_reachable.is_empty(),
        "domains whose servers never answer must be 'error': {wrongly_reachable:?}"
    );
    let answering = n - silent.len();
    let exact = answering - affected.difference(&silent).count();
    let recovery = exact as f64 / answering as f64;
    let errors = rows.iter().filter(|r| r.domain_status == "error").count();
    let planted = truth.iter().filter(|r| r.domain_status == "error").count();
    eprintln!(
        "faulty network: {n} domains generated in {generated:.1?}, crawled in {crawled:.1?}; \
         {} domains never answer (all rows 'error'); of the {answering} others, {exact} rows \
         ({:.2} %) exactly match the truth; {} mismatching cells, all under failure statuses, \
         by column {:?}; {errors} rows domain_status=error ({planted} planted in the truth)",
        silent.len(),
        recovery * 100.0,
        report.mismatches.len(),
        report.by_column()
    );
    assert!(recovery >= RECOVERY_FLOOR, "recovery {recovery}");
}

/// Share of rows that must match the truth exactly. Measured: 99.6 % (4,980
/// of 5,000). Each attempt fails with p ≈ 0.15 (drop, SERVFAIL, or a
/// truncation whose TCP retry is itself faulted), so a query fails all 4
/// attempts with p ≈ 5e-4, and a domain's ~15 queries leave a row with a
/// failure status about 0.75 % of the time. The floor leaves room for the
/// fault RNG's run-to-run variation. A query of a popular include is shared
/// by every domain waiting on it: when it failed all its attempts, each of
/// the ~360 domains waiting got a temperror until waiters were made to ask
/// once more (CI run of 2026-12-06: 92.3 %); the floor catches that again.
const RECOVERY_FLOOR: f64 = 0.98;

/// A few domains and a resolver that answers REFUSED to everything (a
/// thread on a loopback UDP socket, alive for the rest of the test process),
/// for the tests that are about files, not answers. (A closed port no
/// longer works: the crawl's start-up probe refuses it.)
fn offline_args(out: &Path, extra: &[&str], input: &Path) -> Vec<String> {
    crawl_args_with(
        &authcensus_testsupport::refusing_dns_server().to_string(),
        None,
        out,
        "0.05",
        "0",
        extra,
        input,
    )
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// (b) An output that cannot be created: non-zero exit, the path in the
/// message, no part file anywhere.
#[test]
fn unwritable_output_fails_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("domains.txt");
    std::fs::write(&input, "a.example\nb.example\n").unwrap();
    let file = dir.path().join("regular-file");
    std::fs::write(&file, "not a directory").unwrap();
    for out in [
        PathBuf::from("/proc/authcensus-faults-test"),
        file.join("out"),
    ] {
        let o = run(&offline_args(&out, &[], &input));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(&s(&out)), "{err}");
        assert!(!out.exists());
    }
    let left: Vec<PathBuf> = files_under(dir.path())
        .into_iter()
        .filter(|p| p != &input && p != &file)
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// (c) SIGTERM mid-crawl: exit 130, the snapshot marked incomplete, the
/// closed part files readable; a re-run completes with exactly one row per
/// domain, equal to the ground truth.
#[test]
fn sigterm_mid_crawl_flushes_and_a_rerun_completes() {
    const N: usize = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let uni = dir.path().join("universe");
    universe(N, 29, &uni);
    let tb = authcensus_testbed::serve(&uni, ServeOptions::default()).unwrap();
    let out = dir.path().join("out");
    let input = uni.join("domains.txt");
    let slow = crawl_args(
        &tb,
        &out,
        "0.4",
        "1",
        &["--qps", "2000", "--rows-per-file", "100"],
        &input,
    );
    let child = bin()
        .args(&slow)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let snap = snapshot_dir(&out, "s1");
    // Wait until at least one part file is closed, then SIGTERM.
    let deadline = Instant::now() + Duration::from_secs(60);
    while part_files(&snap).map(|p| p.is_empty()).unwrap_or(true) {
        assert!(Instant::now() < deadline, "no part file closed in 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");

    let m = manifest(&snap);
    assert!(!m.complete);
    let parts = part_files(&snap).unwrap();
    assert!(!parts.is_empty());
    let temporary: Vec<PathBuf> = list_dir(&snap)
        .unwrap()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_temporary)
        })
        .collect();
    assert!(temporary.is_empty(), "{temporary:?}");
    let mut partial = 0;
    for p in &parts {
        partial += read_rows(p).unwrap().len();
    }
    assert_eq!(read_snapshot_rows(&snap).unwrap().len(), partial);
    assert_eq!(m.rows, partial as u64);
    assert!(partial > 0 && partial < N, "{partial} rows before SIGTERM");
    eprintln!(
        "SIGTERM after {partial} of {N} rows in {} part files",
        parts.len()
    );

    let fast = crawl_args(&tb, &out, "0.4", "1", &[], &input);
    let o = run(&fast);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = manifest(&snap);
    assert!(m.complete);
    assert_eq!(m.rows, N as u64);
    assert!(m.runs >= 2);
    let rows = read_snapshot_rows(&snap).unwrap();
    assert_eq!(rows.len(), N);
    assert_exact(&uni, &rows);
}

/// (d) Invalid lines are written to `rejected.csv`, one line each, and
/// counted in the manifest.
#[test]
fn rejected_input_lines_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("list.txt");
    std::fs::write(
        &input,
        b"a.example\nbad_name.example\n\xff\xfe\nb.example\n-hyphen.example\nc..example\nc.example\n"
            .as_slice(),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run(&offline_args(&out, &[], &input));
    assert!(o.status.success(), "{}", stderr(&o));
    let snap = snapshot_dir(&out, "s1");
    let rejected = std::fs::read_to_string(snap.join(REJECTED_FILE)).unwrap();
    let lines: Vec<&str> = rejected.lines().collect();
    assert_eq!(lines[0], "source,line,reason,raw");
    let got: Vec<(String, String)> = lines[1..]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[2].to_string())
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("2", "invalid_character"),
        ("3", "invalid_utf8"),
        ("5", "invalid_hyphen"),
        ("6", "empty_label"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want, "{rejected}");
    let m = manifest(&snap);
    assert!(m.complete);
    assert_eq!(m.rejected_lines, 4);
    assert_eq!(m.rejected_file.as_deref(), Some(REJECTED_FILE));
    assert_eq!(m.inputs.len(), 1);
    assert_eq!(m.inputs[0].rejected, 4);
    assert_eq!(m.rows, 3);
    let rows = read_snapshot_rows(&snap).unwrap();
    let domains: BTreeSet<&str> = rows.iter().map(|r| r.domain.as_str()).collect();
    assert_eq!(
        domains,
        BTreeSet::from(["a.example", "b.example", "c.example"])
    );
}

/// (d) A truncated gzip input: exit 2, the file named, the snapshot marked
/// incomplete (the domains read before the cut are crawled and kept).
#[test]
fn truncated_gzip_input_exits_2_and_marks_the_snapshot_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = Vec::new();
    for i in 0..3_000 {
        writeln!(text, "host{i}.example").unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    let mut gz = gz.finish().unwrap();
    gz.truncate(gz.len() * 2 / 3);
    let cut = dir.path().join("cut.txt.gz");
    std::fs::write(&cut, &gz).unwrap();
    let out = dir.path().join("out");
    let o = run(&offline_args(&out, &[], &cut));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("cut.txt.gz"), "{err}");
    let snap = snapshot_dir(&out, "s1");
    let m = manifest(&snap);
    assert!(!m.complete);
    let rows = read_snapshot_rows(&snap).unwrap();
    assert_eq!(m.rows, rows.len() as u64);
    assert!(rows.len() < 3_000);
}

/// A small tmpfs mounted for the disk-full test; unmounted on drop.
struct SmallFs(PathBuf);

impl SmallFs {
    /// Mounts a tmpfs of `kib` KiB at `at`, or says why it cannot (not root,
    /// no mount permission in a container).
    fn mount(at: &Path, kib: usize) -> Result<SmallFs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| e.to_string())?;
        if o.status.success() {
            Ok(SmallFs(at.to_path_buf()))
        } else {
            Err(String::from_utf8_lossy(&o.stderr).trim().to_string())
        }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// (e) Disk full: the output file system fills up mid-crawl. The crawl
/// exits 2 with an error naming the path, leaves no temporary file and no
/// part file that does not read back completely, and a resume of a copy of
/// the snapshot in a roomy place ends exactly equal to the ground truth.
/// Needs permission to mount a tmpfs (root in CI); skips with a message
/// otherwise unless `AUTHCENSUS_REQUIRE_DISKFULL=1`.
#[test]
fn disk_full_fails_cleanly_and_resume_completes() {
    const N: usize = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    let fs = match SmallFs::mount(&mnt, 160) {
        Ok(fs) => fs,
        Err(why) => {
            assert!(
                std::env::var_os("AUTHCENSUS_REQUIRE_DISKFULL").is_none(),
                "cannot mount a tmpfs for the disk-full test: {why}"
            );
            eprintln!(
                "SKIP disk_full_fails_cleanly_and_resume_completes: cannot mount a tmpfs ({why})"
            );
            return;
        }
    };
    let uni = dir.path().join("universe");
    universe(N, 31, &uni);
    let tb = authcensus_testbed::serve(&uni, ServeOptions::default()).unwrap();
    let out = mnt.join("out");
    let input = uni.join("domains.txt");
    let args = crawl_args(&tb, &out, "0.4", "1", &["--rows-per-file", "100"], &input);
    let o = run(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "disk full must fail: {err}");
    assert!(err.contains(&s(&out)), "the error names the path: {err}");
    assert!(
        err.to_lowercase().contains("no space left"),
        "the error says why: {err}"
    );

    let snap = snapshot_dir(&out, "s1");
    let files = files_under(&snap);
    let temporary: Vec<&PathBuf> = files
        .iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_temporary)
        })
        .collect();
    assert!(temporary.is_empty(), "temporary files left: {temporary:?}");
    let parts = part_files(&snap).unwrap();
    let mut partial = 0;
    for p in &parts {
        partial += read_rows(p)
            .unwrap_or_else(|e| panic!("{} is corrupt: {e}", p.display()))
            .len();
    }
    assert!(
        partial < N,
        "the disk filled before the end ({partial} rows)"
    );
    if let Ok(Some(m)) = Manifest::read(&snap) {
        assert!(!m.complete, "a failed crawl is not marked complete");
    }

    // Move the snapshot somewhere roomy and resume it there.
    let roomy = dir.path().join("roomy");
    let cp = Command::new("cp")
        .arg("-a")
        .arg(&out)
        .arg(&roomy)
        .status()
        .unwrap();
    assert!(cp.success());
    drop(fs);
    let resume = crawl_args(&tb, &roomy, "0.4", "1", &[], &input);
    let o = run(&resume);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = read_snapshot_rows(&snapshot_dir(&roomy, "s1")).unwrap();
    assert_eq!(rows.len(), N);
    assert_exact(&uni, &rows);
    eprintln!(
        "disk full after {partial} of {N} rows in {} part files; resumed to {N} exact rows",
        parts.len()
    );
}
