//! The `authcensus` binary, run as a user would (std::process::Command on
//! the built executable): stdout, stderr and exit code.

// Helpers outside `#[test]` functions panic on failure too: in a test that is
// a failed assertion (clippy.toml only covers `#[test]` bodies).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use authcensus_testsupport::{shared_data, workspace_root};

mod crawl;
mod faults;
mod report;
mod scale;
mod synthetic;

pub(crate) fn authcensus(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authcensus"))
        .args(args)
        .current_dir(workspace_root())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stdout_lines(o: &Output) -> Vec<String> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn domains_gov_zone_prints_16536_delegations() {
    let Some(zone) = shared_data("zones/gov.zone") else {
        return;
    };
    let o = authcensus(&["domains", "--stats", p(&zone)], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines = stdout_lines(&o);
    assert_eq!(lines.len(), 16_536);
    let unique: std::collections::BTreeSet<_> = lines.iter().collect();
    assert_eq!(unique.len(), 16_536);
    assert!(
        lines
            .iter()
            .all(|l| l.ends_with(".gov") && l == &l.to_ascii_lowercase())
    );
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(stderr.contains("\tformat\tzone\n"), "{stderr}");
    assert!(stderr.contains("total\temitted\t16536\n"), "{stderr}");
    assert!(stderr.contains("total\trejected\t0\n"), "{stderr}");
    assert!(stderr.contains("total\tpsl\t"), "{stderr}");
}

#[test]
fn domains_shards_add_up_and_lists_resolve() {
    let Some(zone) = shared_data("zones/gov.zone") else {
        return;
    };
    let a = authcensus(&["domains", "--shard", "0/2", p(&zone)], None);
    let b = authcensus(&["domains", "--shard", "1/2", p(&zone)], None);
    assert!(a.status.success() && b.status.success());
    assert_eq!(stdout_lines(&a).len() + stdout_lines(&b).len(), 16_536);
    let list = authcensus(&["domains", "--list", "us-gov"], None);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert_eq!(stdout_lines(&list).len(), 16_539);
    let dir = authcensus(&["domains", "domain-lists/us-gov"], None);
    assert_eq!(dir.stdout, list.stdout);
}

#[test]
fn domains_stdin_gzip_rejects_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"B.example\nbad_name.example\n\xff\nb.example.\nc.example\n")
        .unwrap();
    let gz = gz.finish().unwrap();
    let rejects = dir.path().join("rejects.tsv");
    let o = authcensus(
        &[
            "domains",
            "--stats",
            "--tag",
            "t",
            "--rejects",
            p(&rejects),
            "-",
        ],
        Some(&gz),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout_lines(&o), ["b.example", "c.example"]);
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(stderr.contains("-\tcompression\tgzip\n"), "{stderr}");
    assert!(
        stderr.contains("-\trejected.invalid_character\t1\n"),
        "{stderr}"
    );
    assert!(stderr.contains("-\trejected.invalid_utf8\t1\n"), "{stderr}");
    assert!(stderr.contains("-\tduplicates\t1\n"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap(),
        "-\t2\tinvalid_character\tbad_name.example\n-\t3\tinvalid_utf8\t\\xff\n"
    );
}

#[test]
fn domains_unusable_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let o = authcensus(&["domains", p(&missing)], None);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(
        stderr.contains("cannot open") && stderr.contains("missing.txt"),
        "{stderr}"
    );

    let mut text = Vec::new();
    for i in 0..50_000 {
        writeln!(text, "host{i}.example").unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    let mut gz = gz.finish().unwrap();
    gz.truncate(gz.len() * 2 / 3);
    let cut = dir.path().join("cut.txt.gz");
    std::fs::write(&cut, &gz).unwrap();
    let o = authcensus(&["domains", p(&cut)], None);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(
        stderr.contains("cut.txt.gz") && stderr.contains("failed at byte"),
        "{stderr}"
    );

    let o = authcensus(
        &[
            "domains",
            "--tag",
            "a",
            "--tag",
            "b",
            p(&cut),
            p(&cut),
            p(&cut),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8(o.stderr)
            .unwrap()
            .contains("`--tag` given 2 times for 3 inputs")
    );

    let o = authcensus(&["domains", "--shard", "3/3", p(&cut)], None);
    assert_eq!(o.status.code(), Some(2));
    let o = authcensus(&["domains"], None);
    assert_eq!(o.status.code(), Some(2));
}

/// The flags are a contract: every one is in `--help`, with the exit codes.
#[test]
fn domains_help_lists_every_flag_and_exit_codes() {
    let o = authcensus(&["domains", "--help"], None);
    assert!(o.status.success());
    let help = String::from_utf8(o.stdout).unwrap();
    for flag in [
        "--list <NAME>",
        "--lists-dir <DIR>",
        "--format <FORMAT>",
        "--column <NAME|INDEX>",
        "--tag <LABEL>",
        "--shard <K/N>",
        "--psl <PATH>",
        "--psl-icann-only",
        "--stats",
        "--rejects <PATH>",
        "--dedup-memory <NAMES>",
        "--spill-dir <DIR>",
        "[INPUT]...",
    ] {
        assert!(help.contains(flag), "missing {flag} in:\n{help}");
    }
    assert!(help.contains("Exit status: 0") && help.contains("2 when an input is unusable"));
}
