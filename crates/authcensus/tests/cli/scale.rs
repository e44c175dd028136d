//! Scale-out end to end: four shard processes, started with the Kubernetes
//! Indexed Job and the Slurm array environments (not the flag), crawl a
//! testbed universe into a real S3-compatible server (`moto_server`, a
//! separate process on loopback); one shard is SIGKILLed mid-crawl, the
//! snapshot is then refused as incomplete naming that shard, and the shard
//! re-run from an empty staging directory (another machine) resumes from its
//! uploaded parts. The union of the shards equals a single-machine crawl row
//! for row, and DuckDB reads the layout with Hive partitioning.
//!
//! Needs the Python package `moto[server]`; skipped with a message when it
//! is absent, unless `AUTHCENSUS_REQUIRE_S3=1`. Also: the deployment files
//! parse (YAML, `bash -n`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use authcensus_input::shard_hash;
use authcensus_store::reader::{read_rows, read_snapshot_rows};
use authcensus_store::{RemoteStore, SnapshotRow, StoreError};
use authcensus_testbed::{RunningTestbed, ServeOptions};
use authcensus_testsupport::workspace_root;

use crate::crawl::{crawl_args_with, universe};

/// A `moto_server` process on a loopback port, killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn require_s3() -> bool {
    std::env::var("AUTHCENSUS_REQUIRE_S3").is_ok_and(|v| v == "1")
}

fn start_moto() -> Option<Moto> {
    let available = Command::new("python3")
        .args(["-c", "import moto.server, flask"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(
            !require_s3(),
            "AUTHCENSUS_REQUIRE_S3=1 but the Python package moto[server] is missing (pip install 'moto[server]')"
        );
        eprintln!(
            "SKIP: the S3 scale-out test needs the Python package moto[server] (pip install 'moto[server]'); set AUTHCENSUS_REQUIRE_S3=1 to make this a failure"
        );
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(status) = http(port, "PUT", "/survey") {
            assert_eq!(status, 200, "creating the bucket");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not start in 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(moto)
}

/// One plain HTTP/1.1 request to the loopback server; its status code.
fn http(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {response:.80}")))
}

const S3_ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "authcensus-test"),
    ("AWS_SECRET_ACCESS_KEY", "authcensus-test"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_ALLOW_HTTP", "true"),
];

const SCHEDULER_VARS: [&str; 6] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_STEP",
    "SLURM_ARRAY_JOB_ID",
];

/// How a shard process is launched.
#[derive(Clone, Copy)]
enum Launch {
    /// A Kubernetes Indexed Job pod: `JOB_COMPLETION_INDEX=K`, `--shard-count 4`.
    IndexedJob,
    /// A task of a Slurm `--array=1-4`: ids offset by one.
    Slurm,
}

fn scheduler_env(k: u64, launch: Launch) -> (Vec<(&'static str, String)>, Vec<&'static str>) {
    if matches!(launch, Launch::IndexedJob) {
        (
            vec![("JOB_COMPLETION_INDEX", k.to_string())],
            vec!["--shard-count", "4"],
        )
    } else {
        (
            vec![
                ("SLURM_ARRAY_TASK_ID", (k + 1).to_string()),
                ("SLURM_ARRAY_TASK_COUNT", "4".into()),
                ("SLURM_ARRAY_TASK_MIN", "1".into()),
            ],
            vec![],
        )
    }
}

struct Survey<'a> {
    tb: &'a RunningTestbed,
    uni: &'a Path,
    endpoint: &'a str,
    url: &'a str,
}

impl Survey<'_> {
    fn shard_command(&self, k: u64, launch: Launch, staging: &Path, extra: &[&str]) -> Command {
        let (env, mut flags) = scheduler_env(k, launch);
        flags.extend(["--staging-dir", staging.to_str().unwrap(), "--no-progress"]);
        flags.extend(extra);
        let args = crawl_args_with(
            &self.tb.dns_addr.to_string(),
            Some(self.tb),
            Path::new(self.url),
            "0.4",
            "1",
            &flags,
            &self.uni.join("domains.txt"),
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_authcensus"));
        cmd.args(&args).stdin(Stdio::null());
        for v in SCHEDULER_VARS {
            cmd.env_remove(v);
        }
        for (k, v) in S3_ENV {
            cmd.env(k, v);
        }
        cmd.env("AWS_ENDPOINT_URL", self.endpoint);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }
}

impl Survey<'_> {
    /// `authcensus ARGS` with the S3 environment of the shards.
    fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_authcensus"));
        cmd.args(args).stdin(Stdio::null());
        for (k, v) in S3_ENV {
            cmd.env(k, v);
        }
        cmd.env("AWS_ENDPOINT_URL", self.endpoint);
        cmd.output().unwrap()
    }
}

fn ok(o: &Output) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "shard failed: {stderr}");
    stderr
}

/// Every column but the clock and the per-domain query count (which depends
/// on what the shared cache held).
fn comparable(mut rows: Vec<SnapshotRow>) -> Vec<SnapshotRow> {
    for r in &mut rows {
        r.crawled_at_us = 0;
        r.dns_queries = 0;
    }
    rows.sort_by(|a, b| a.domain.cmp(&b.domain));
    rows
}

#[test]
fn four_shards_from_scheduler_envs_into_s3_equal_one_crawl_even_after_a_kill() {
    let Some(moto) = start_moto() else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let uni = dir.path().join("universe");
    universe(2_000, 17, &uni);
    let tb = authcensus_testbed::serve(&uni, ServeOptions::default()).unwrap();
    let url = "s3://survey/surveys";
    let survey = Survey {
        tb: &tb,
        uni: &uni,
        endpoint: &moto.endpoint,
        url,
    };
    let store = RemoteStore::open_with(
        url,
        &[
            ("aws_endpoint_url", moto.endpoint.as_str()),
            ("aws_access_key_id", "authcensus-test"),
            ("aws_secret_access_key", "authcensus-test"),
            ("aws_region", "us-east-1"),
            ("aws_allow_http", "true"),
        ],
    )
    .unwrap();

    // The single-machine crawl.
    let reference = dir.path().join("reference");
    let o = Command::new(env!("CARGO_BIN_EXE_authcensus"))
        .args(crawl_args_with(
            &tb.dns_addr.to_string(),
            Some(&tb),
            &reference,
            "0.4",
            "1",
            &["--no-progress"],
            &uni.join("domains.txt"),
        ))
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok(&o);
    let expected = comparable(read_snapshot_rows(&reference.join("snapshot=s1")).unwrap());
    assert_eq!(expected.len(), 2_000);

    // Shards 0, 1 and 3 run at once, each on its own "machine" (staging dir).
    let children: Vec<(u64, Child)> = [
        (0u64, Launch::IndexedJob),
        (1, Launch::Slurm),
        (3, Launch::Slurm),
    ]
    .into_iter()
    .map(|(k, launch)| {
        let staging = dir.path().join(format!("machine-{k}"));
        let child = survey
            .shard_command(k, launch, &staging, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        (k, child)
    })
    .collect();
    for (k, child) in children {
        let stderr = ok(&child.wait_with_output().unwrap());
        assert!(
            stderr.contains(&format!("-> {url}/snapshot=s1/shard={k}")),
            "{stderr}"
        );
    }

    // Shard 2 (Indexed Job env) is killed once some of its parts are uploaded.
    let slow = [
        "--qps",
        "1500",
        "--concurrency",
        "32",
        "--rows-per-file",
        "40",
    ];
    let mut child = survey
        .shard_command(2, Launch::IndexedJob, &dir.path().join("machine-2"), &slow)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let uploaded_before_kill = loop {
        let parts = store.list("snapshot=s1/shard=2").unwrap();
        if parts.len() >= 2 || Instant::now() > deadline {
            break parts;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        child.try_wait().unwrap().is_none(),
        "shard 2 finished before it could be killed"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(uploaded_before_kill.len() >= 2, "{uploaded_before_kill:?}");
    assert!(
        !uploaded_before_kill.contains_key("manifest.json"),
        "the manifest is uploaded last"
    );

    // The snapshot is refused while shard 2 is unfinished, naming it.
    match store.snapshot_files("s1") {
        Err(StoreError::Incomplete {
            count,
            done,
            missing,
            unfinished,
            ..
        }) => {
            assert_eq!((count, done), (4, 3));
            assert_eq!(missing, vec![2]);
            assert!(unfinished.is_empty());
        }
        other => panic!("expected an incomplete snapshot, got {other:?}"),
    }
    let message = store.snapshot_files("s1").unwrap_err().to_string();
    assert!(
        message.contains("3 of 4 shards finished") && message.contains("shard 2 of 0..4 missing"),
        "{message}"
    );

    // `report` straight from the store refuses it too, before downloading.
    let o = survey.cli(&["report", "--format", "json", &format!("{url}/snapshot=s1")]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("3 of 4 shards finished") && stderr.contains("shard 2 of 0..4 missing"),
        "{stderr}"
    );

    // Shard 2 again, on another machine (empty staging), with the Slurm
    // environment this time (--array=1-4: task id 3): same shard, resumed.
    let o = survey
        .shard_command(2, Launch::Slurm, &dir.path().join("machine-2b"), &slow)
        .output()
        .unwrap();
    let stderr = ok(&o);
    assert!(stderr.contains("resume from"), "{stderr}");
    let skipped: u64 = stderr
        .split(" skipped")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(skipped >= 80, "skipped {skipped}: {stderr}");

    // Whole now: every shard's manifest, and the union equals the single crawl.
    let files = store.snapshot_files("s1").unwrap();
    assert_eq!(files.shard_count, Some(4));
    assert_eq!(files.rows(), 2_000);
    let local = dir.path().join("download");
    store.download_snapshot("s1", &local).unwrap();
    let snap = local.join("snapshot=s1");
    let mut union = Vec::new();
    let mut per_shard = BTreeMap::new();
    for (k, m) in files.manifests.iter().enumerate() {
        let k = k as u64;
        let info = m.shard.as_ref().unwrap();
        assert_eq!((info.index, info.count), (k, 4));
        assert_eq!(info.assignment, "sha256_first8_be_mod_n");
        // Shard 2's last run was the Slurm one.
        let source = if k == 0 {
            "JOB_COMPLETION_INDEX"
        } else {
            "SLURM_ARRAY_TASK_ID"
        };
        assert_eq!(info.source, source, "shard {k}");
        assert!(m.complete);
        per_shard.insert(k, m.rows);
    }
    // The parts uploaded before the kill were kept, not crawled again.
    let kept: Vec<&String> = files.manifests[2].parts.iter().map(|p| &p.file).collect();
    for name in uploaded_before_kill.keys() {
        assert!(kept.contains(&name), "{name} not in {kept:?}");
    }
    for part in files.part_paths(&snap) {
        let rows = read_rows(&part).unwrap();
        let k: u64 = part
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("shard="))
            .unwrap()
            .parse()
            .unwrap();
        for r in &rows {
            assert_eq!(shard_hash(&r.domain) % 4, k, "{} in shard {k}", r.domain);
        }
        union.extend(rows);
    }
    let union = comparable(union);
    assert_eq!(
        union.len(),
        expected.len(),
        "rows in the union of the shards"
    );
    assert_eq!(union, expected);

    // report, diff and trend read the snapshot from the store by URL: the
    // report equals the one of the downloaded copy, the diff against the
    // single-machine crawl finds nothing, the trend sees the snapshot.
    let remote = survey.cli(&["report", "--format", "json", &format!("{url}/snapshot=s1")]);
    let local_report = survey.cli(&["report", "--format", "json", snap.to_str().unwrap()]);
    ok(&remote);
    ok(&local_report);
    assert_eq!(
        String::from_utf8_lossy(&remote.stdout),
        String::from_utf8_lossy(&local_report.stdout)
    );
    let d = survey.cli(&[
        "diff",
        "--format",
        "json",
        reference.join("snapshot=s1").to_str().unwrap(),
        &format!("{url}/snapshot=s1"),
    ]);
    ok(&d);
    let d: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(d["common"], 2_000, "{d}");
    assert_eq!(d["changes_total"], 0, "{d}");
    let t = survey.cli(&["trend", "--format", "json", url]);
    ok(&t);
    assert!(String::from_utf8_lossy(&t.stdout).contains("\"s1\""));

    // DuckDB over the downloaded layout, with Hive partitioning.
    duckdb_counts(&local, &per_shard);
    eprintln!(
        "scale-out test: {:.1}s (4 shards, 2,000 domains, one kill)",
        started.elapsed().as_secs_f64()
    );
}

fn duckdb_counts(root: &Path, per_shard: &BTreeMap<u64, u64>) {
    let has_duckdb = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_duckdb {
        assert!(
            std::env::var("AUTHCENSUS_REQUIRE_DUCKDB").map_or(true, |v| v != "1"),
            "AUTHCENSUS_REQUIRE_DUCKDB=1 but duckdb is not importable"
        );
        eprintln!("SKIP: DuckDB check (pip install duckdb)");
        return;
    }
    let script = format!(
        "import duckdb\n\
         rows = duckdb.sql(\"SELECT snapshot, shard, count(*), count(DISTINCT domain) FROM read_parquet('{}/*/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY shard\").fetchall()\n\
         for r in rows: print(*r, sep='\\t')\n",
        root.display()
    );
    let o = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = String::from_utf8(o.stdout).unwrap();
    let want: String = per_shard
        .iter()
        .map(|(k, n)| format!("s1\t{k}\t{n}\t{n}\n"))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn deployment_files_parse() {
    let root = workspace_root();
    let yaml = std::fs::read_to_string(root.join("deploy/k8s-indexed-job.yaml")).unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&yaml)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    let job = &docs[1];
    assert_eq!(job["kind"].as_str(), Some("Job"));
    assert_eq!(job["spec"]["completionMode"].as_str(), Some("Indexed"));
    let completions = job["spec"]["completions"].as_u64().unwrap();
    let args: Vec<&str> = job["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "crawl");
    assert!(
        args.contains(&format!("--shard-count={completions}").as_str()),
        "{args:?}"
    );
    // --qps per shard = the stated global budget / N.
    assert!(yaml.contains("8,000 q/s / 8 = 1,000 q/s"));
    assert!(args.contains(&"--qps=1000"));

    let o = Command::new("bash")
        .args(["-n", root.join("deploy/slurm-array.sh").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new("bash")
        .args(["-n", root.join("deploy/check-spark.sh").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
