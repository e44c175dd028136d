//! `authcensus report`, `diff` and `trend` on small fixed snapshots (the
//! report crate's hand-computed fixture), every output format, the schema
//! version refusal, and the HTML page in headless Chromium with hostile
//! record content.

use std::path::{Path, PathBuf};
use std::process::Command;

use authcensus_store::SnapshotRow;
use authcensus_testsupport::workspace_root;

use crate::{authcensus, p};

#[path = "../../../authcensus-report/tests/engine/fixture.rs"]
#[allow(dead_code)]
mod fixture;

fn two_months(root: &Path) -> (PathBuf, PathBuf) {
    (
        fixture::write(root, "2026-01-01", fixture::month1()),
        fixture::write(root, "2026-02-01", fixture::month2()),
    )
}

fn ok_stdout(args: &[&str]) -> String {
    let o = authcensus(args, None);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn report_formats_agree_with_hand_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let (m1, _) = two_months(tmp.path());
    let table = ok_stdout(&["report", p(&m1)]);
    assert!(table.contains("snapshot 2026-01-01"), "{table}");
    let line = table
        .lines()
        .find(|l| l.contains("DMARC enforcing, pct=100, no sp=none"))
        .unwrap();
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[cells.len() - 2..], ["2", "50.0%"], "{line}");

    let json: serde_json::Value =
        serde_json::from_str(&ok_stdout(&["report", p(&m1), "--format", "json"])).unwrap();
    assert_eq!(json["format"], "authcensus.report/1");
    assert_eq!(json["denominator"], "resolving");
    assert_eq!(json["total"]["base"], 4);
    assert_eq!(json["total"]["metrics"]["dmarc_reject"]["count"], 2);
    assert_eq!(json["total"]["metrics"]["dmarc_enforcing"]["share"], 0.75);
    assert_eq!(json["total"]["mixes"]["dmarc_policy"][0]["value"], "reject");

    let csv = ok_stdout(&["report", p(&m1), "--by", "suffix", "--format", "csv"]);
    assert!(csv.starts_with("group,metric,value,count,base,share\n"));
    assert!(
        csv.contains("\ngo.jp,dmarc_reject,,1,2,0.500000\n"),
        "{csv}"
    );
    assert!(csv.contains("\nco.jp,parked,,1,2,0.500000\n"), "{csv}");

    let md = tmp.path().join("r.md");
    ok_stdout(&[
        "report",
        p(&m1),
        "--filter",
        "suffix=go.jp",
        "--denominator",
        "with-mx",
        "--format",
        "markdown",
        "-o",
        p(&md),
    ]);
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.starts_with("# authcensus report: snapshot 2026-01-01\n"),
        "{md}"
    );
    assert!(
        md.contains("2 rows selected, filter suffix=go.jp; shares are of the 2 in the denominator \\`with-mx\\`"),
        "{md}"
    );
    assert!(
        md.contains("| SPF over 10 DNS lookups \\(RFC 7208 §4.6.4\\) | 1 | 50.0% |"),
        "{md}"
    );
}

#[test]
fn diff_and_trend_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let (m1, m2) = two_months(tmp.path());
    let changes = tmp.path().join("changes.csv");
    let json: serde_json::Value = serde_json::from_str(&ok_stdout(&[
        "diff",
        p(&m1),
        p(&m2),
        "--format",
        "json",
        "--changes",
        p(&changes),
    ]))
    .unwrap();
    assert_eq!(json["format"], "authcensus.diff/1");
    assert_eq!(json["common"], 5);
    assert_eq!(json["appeared"], 1);
    assert_eq!(json["dimensions"][0]["adopted"], 2);
    assert_eq!(json["dimensions"][0]["regressed"], 1);
    assert_eq!(
        std::fs::read_to_string(&changes).unwrap().lines().count(),
        6
    );
    let table = ok_stdout(&["diff", p(&m1), p(&m2)]);
    assert!(
        table.contains("5 domains in both, 1 appeared, 1 disappeared"),
        "{table}"
    );
    assert!(table.contains("b.go.jp"), "{table}");

    let csv = ok_stdout(&["trend", p(tmp.path()), "--format", "csv"]);
    assert!(
        csv.contains("\n2026-01-01,,dmarc_reject,2,4,0.500000\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\n2026-02-01,,dmarc_reject,2,5,0.400000\n"),
        "{csv}"
    );
    let html = ok_stdout(&["trend", p(tmp.path()), "--by", "suffix", "--format", "html"]);
    assert!(
        html.contains("<polyline") && html.contains("go.jp"),
        "{html}"
    );
}

#[test]
fn profile_schema_refusal_and_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (m1, _) = two_months(tmp.path());
    let profile = workspace_root().join("profiles/bod-18-01.toml");
    let json: serde_json::Value = serde_json::from_str(&ok_stdout(&[
        "report",
        p(&m1),
        "--profile",
        p(&profile),
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["format"], "authcensus.profile/1");
    assert_eq!(json["compliant"], 1);
    assert_eq!(json["parked"], 1);
    assert_eq!(json["failing"][1]["domain"], "c.co.jp");
    let csv = ok_stdout(&[
        "report",
        p(&m1),
        "--profile",
        p(&profile),
        "--format",
        "csv",
    ]);
    assert_eq!(
        csv,
        "domain,parked,failed_rules\n\
         b.go.jp,false,dmarc_min_policy dmarc_pct_100 dmarc_sp_not_weaker dmarc_rua_1 spf_lookup_limits\n\
         c.co.jp,true,dmarc_rua_1\n\
         d.co.jp,false,dmarc_min_policy dmarc_pct_100 dmarc_sp_not_weaker dmarc_rua_1 spf_valid spf_all\n"
    );

    // a part of another schema version: exit 2, the file and versions named
    let bad = m1.join("part-00007.parquet");
    let good = std::fs::read_dir(&m1)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let bytes = std::fs::read(good).unwrap();
    let patched = replace_once(
        &bytes,
        b"authcensus.schema_version\x18\x011",
        b"authcensus.schema_version\x18\x019",
    );
    std::fs::write(&bad, patched).unwrap();
    let o = authcensus(&["report", p(&m1)], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("part-00007.parquet")
            && err.contains("snapshot schema version 9 is not supported"),
        "{err}"
    );
    std::fs::remove_file(bad).unwrap();

    for (args, msg) in [
        (
            vec!["report", p(&m1), "--by", "colour"],
            "unknown dimension `colour`",
        ),
        (
            vec!["report", p(&m1), "--filter", "suffix"],
            "is not KEY=VALUE",
        ),
        (
            vec!["report", p(&m1), "--denominator", "some"],
            "unknown denominator `some`",
        ),
        (
            vec!["report", p(&m1), "--format", "pdf"],
            "unknown format `pdf`",
        ),
        (vec!["report", p(tmp.path())], "holds 2 snapshots"),
    ] {
        let o = authcensus(&args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(err.contains(msg), "{args:?}: {err}");
    }
}

/// Replaces the first occurrence of `from` (same length as `to`).
fn replace_once(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = hay
        .windows(from.len())
        .position(|w| w == from)
        .expect("metadata key in the footer");
    let mut out = hay.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

const SCRIPT: &str =
    "<script>document.title=\"pwned\";document.body.setAttribute(\"data-pwned\",\"1\")</script>";
const IMG: &str = "<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">";
const AMP: &str = "&amp; \"quoted\" 'single' </td></tr></table><b>bold</b>";

fn hostile_rows() -> Vec<SnapshotRow> {
    let mut rows = fixture::month1();
    rows[0].input_tag = Some(SCRIPT.into());
    rows[1].mx_provider = Some(IMG.into());
    rows[2].mta_sts_status = "bad".into();
    rows[2].mta_sts_fetch_error = Some(AMP.into());
    rows
}

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(o) = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            && o.status.success()
        {
            return Some(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        }
    }
    None
}

fn dump_dom(browser: &Path, html: &Path, profile: &Path) -> String {
    let o = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Hostile record text reaches the page only as text: Chromium's DOM shows it
/// escaped, has no script or img element, and the title is ours.
#[test]
fn html_shows_hostile_records_as_text_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let m1 = fixture::write(tmp.path(), "2026-01-01", hostile_rows());
    let mut rows2 = hostile_rows();
    rows2[1].dmarc_effective_policy = Some("reject".into());
    rows2.push(fixture::base(
        "x<script>alert(1)</script>.example",
        "example",
    ));
    let m2 = fixture::write(tmp.path(), "2026-02-01", rows2);
    let report = tmp.path().join("report.html");
    let diff = tmp.path().join("diff.html");
    ok_stdout(&[
        "report",
        p(&m1),
        "--by",
        "tag",
        "--format",
        "html",
        "-o",
        p(&report),
    ]);
    ok_stdout(&["diff", p(&m1), p(&m2), "--format", "html", "-o", p(&diff)]);
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(
        !page.contains("<script") && !page.contains("<img"),
        "unescaped markup in the page"
    );
    assert!(page.contains("Content-Security-Policy"));

    let Some(browser) = chromium() else {
        if std::env::var("AUTHCENSUS_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
            panic!("chromium not found and AUTHCENSUS_REQUIRE_CHROMIUM=1");
        }
        eprintln!(
            "SKIP: chromium not installed (apt-get install chromium); the browser check did not run"
        );
        return;
    };
    let dom = dump_dom(&browser, &report, &tmp.path().join("chrome-profile"));
    assert!(
        dom.contains("<title>authcensus report: snapshot 2026-01-01</title>"),
        "{dom}"
    );
    assert!(
        !dom.contains("pwned\"</title>") && !dom.contains("data-pwned=\""),
        "script ran: {dom}"
    );
    assert!(
        !dom.contains("<script") && !dom.contains("<img"),
        "element injected: {dom}"
    );
    assert!(!dom.contains("<b>bold</b>"), "element injected: {dom}");
    // the text is there, as text (the DOM serialiser escapes < > & in text)
    assert!(
        dom.contains("&lt;script&gt;document.title=\"pwned\";document.body.setAttribute(\"data-pwned\",\"1\")&lt;/script&gt;"),
        "{dom}"
    );
    assert!(
        dom.contains("&lt;img src=x onerror=\"document.body.setAttribute('data-pwned','2')\"&gt;"),
        "{dom}"
    );
    assert!(dom.contains("&amp;amp; \"quoted\" 'single' &lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;b&gt;bold&lt;/b&gt;"), "{dom}");

    let dom = dump_dom(&browser, &diff, &tmp.path().join("chrome-profile"));
    assert!(
        dom.contains("<title>authcensus diff: 2026-01-01 -&gt; 2026-02-01</title>"),
        "{dom}"
    );
    assert!(
        dom.contains("x&lt;script&gt;alert(1)&lt;/script&gt;.example"),
        "{dom}"
    );
    assert!(
        !dom.contains("<script") && !dom.contains("<img"),
        "element injected: {dom}"
    );
}

/// Issue 11: `report`, `diff` and `trend` read the shard layout
/// (`snapshot=ID/shard=K/`) and refuse a snapshot with a missing or
/// unfinished shard by name; once whole, the sharded snapshot reports
/// exactly what one unsharded crawl of the same input reports.
#[test]
fn reports_read_shards_and_refuse_a_partial_snapshot() {
    use crate::crawl::{crawl_args_with, run, universe};
    use authcensus_testbed::ServeOptions;

    let tmp = tempfile::tempdir().unwrap();
    let uni = tmp.path().join("universe");
    universe(400, 23, &uni);
    let tb = authcensus_testbed::serve(&uni, ServeOptions::default()).unwrap();
    let input = uni.join("domains.txt");
    let crawl = |out: &Path, extra: &[&str]| {
        let mut e = vec!["--no-progress"];
        e.extend_from_slice(extra);
        let o = run(&crawl_args_with(
            &tb.dns_addr.to_string(),
            Some(&tb),
            out,
            "0.4",
            "1",
            &e,
            &input,
        ));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let single = tmp.path().join("single");
    crawl(&single, &[]);
    let sharded = tmp.path().join("sharded");
    for k in [0, 1, 3] {
        crawl(&sharded, &["--shard", &format!("{k}/4")]);
    }
    let snap = sharded.join("snapshot=s1");

    // Shard 2 never ran: refused, naming it, by report and diff alike.
    let o = authcensus(&["report", p(&snap)], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("3 of 4 shards finished") && err.contains("shard 2 of 0..4 missing"),
        "{err}"
    );
    let o = authcensus(&["diff", p(&single.join("snapshot=s1")), p(&snap)], None);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = authcensus(&["trend", p(&sharded)], None);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Shard 2 started but unfinished (manifest says complete: false).
    crawl(&sharded, &["--shard", "2/4"]);
    let manifest = snap.join("shard=2/manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let unfinished = text.replace("\"complete\": true", "\"complete\": false");
    assert_ne!(unfinished, text, "manifest layout changed: {text}");
    std::fs::write(&manifest, &unfinished).unwrap();
    let o = authcensus(&["report", p(&snap)], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("shard 2"), "{err}");
    std::fs::write(&manifest, &text).unwrap();

    // Whole: the same figures as the single crawl, and no change between them.
    let json = |path: &Path| {
        let mut v: serde_json::Value = serde_json::from_str(&ok_stdout(&[
            "report",
            p(path),
            "--by",
            "suffix",
            "--format",
            "json",
        ]))
        .unwrap();
        v.as_object_mut().unwrap().remove("snapshot");
        v
    };
    let one = json(&single.join("snapshot=s1"));
    assert_eq!(one["total"]["rows"], 400, "{one}");
    assert_eq!(json(&snap), one);
    let d: serde_json::Value = serde_json::from_str(&ok_stdout(&[
        "diff",
        p(&single.join("snapshot=s1")),
        p(&snap),
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        (
            &d["common"],
            &d["appeared"],
            &d["disappeared"],
            &d["changes_total"]
        ),
        (&400.into(), &0.into(), &0.into(), &0.into()),
        "{d}"
    );
    let csv = ok_stdout(&["trend", p(&sharded), "--format", "csv"]);
    assert!(csv.contains("\ns1,,"), "{csv}");
}
