//! The DataFusion engine on small fixed snapshots (figures computed by hand
//! in the comments), on refused schema versions, and on two generated
//! testbed months whose transitions the generator records.

// Helpers outside `#[test]` functions panic on failure too: in a test that is
// a failed assertion (clippy.toml only covers `#[test]` bodies).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod analysis;
mod fixture;
mod profile;
mod testbed;

use std::path::Path;
use std::sync::Arc;

use authcensus_report::diff::{DiffOptions, diff};
use authcensus_report::summary::{Report, report};
use authcensus_report::{Denominator, Filter, GroupBy, ReportOptions, open_snapshot};

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn run_report(dir: &Path, opts: &ReportOptions) -> Report {
    let snap = open_snapshot(dir).unwrap();
    block_on(report(&snap, opts)).unwrap()
}

#[test]
fn report_by_hand_resolving() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture::write(tmp.path(), "2026-01-01", fixture::month1());
    let snap = open_snapshot(&dir).unwrap();
    assert_eq!(snap.id, "2026-01-01");
    assert_eq!(snap.parts.len(), 2);
    let r = block_on(report(&snap, &ReportOptions::default())).unwrap();
    let t = &r.total;
    assert_eq!((t.rows, t.base), (6, 4));
    let expect = [
        ("spf_present", 4),
        ("spf_valid", 3),
        ("spf_permerror", 1),
        ("spf_temperror", 0),
        ("spf_over_lookup_limit", 1),
        ("dmarc_present", 4),
        ("dmarc_valid", 3),
        ("dmarc_invalid", 1),
        ("dmarc_reject", 2),
        ("dmarc_enforcing", 3),
        ("dmarc_enforcing_strict", 2),
        ("dmarc_pct_below_100", 1),
        ("dmarc_sp_present", 1),
        ("dmarc_organizational", 1),
        ("dmarc_rua", 1),
        ("mx_present", 3),
        ("mx_null", 1),
        ("parked", 1),
        ("mta_sts_present", 3),
        ("mta_sts_valid", 2),
        ("mta_sts_enforce", 1),
        ("mta_sts_failed", 1),
        ("tlsrpt_present", 2),
        ("tlsrpt_valid", 1),
        ("bimi_present", 2),
        ("bimi_valid", 1),
        ("dns_failure_txt", 0),
        ("dns_failure_mx", 0),
    ];
    for (id, n) in expect {
        assert_eq!(t.count(id), n, "{id}");
    }
    assert_eq!(t.share("dmarc_enforcing"), Some(0.75));
    assert_eq!(t.share("dmarc_enforcing_strict"), Some(0.5));
    assert_eq!(t.mix_count("domain_status", "ok"), 4);
    assert_eq!(t.mix_count("domain_status", "nxdomain"), 1);
    assert_eq!(t.mix_count("domain_status", "error"), 1);
    assert_eq!(t.mix_count("dmarc_policy", "reject"), 2);
    assert_eq!(t.mix_count("dmarc_policy", "quarantine"), 1);
    assert_eq!(t.mix_count("spf_all", "-all"), 2);
    assert_eq!(t.mix_count("spf_all", "~all"), 1);
    assert_eq!(t.mix_count("mx_provider", "google"), 1);
    assert_eq!(t.mix_count("mx_provider", "(unknown)"), 1);
    assert_eq!(t.mix_count("mta_sts_mode", "testing"), 1);
    assert_eq!(t.mix_count("mta_sts_fetch_error", "http_status"), 1);
    assert_eq!(t.mix_count("dmarc_subdomain_policy", "none"), 1);
    assert_eq!(t.mix_count("dmarc_subdomain_policy", "(absent)"), 2);
    assert_eq!(t.mix_count("dmarc_source", "organizational"), 1);
    assert!(r.groups.is_empty());
}

#[test]
fn report_denominators_groups_and_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture::write(tmp.path(), "2026-01-01", fixture::month1());
    // all rows: the failing domain counts in the DNS failure rates
    let r = run_report(
        &dir,
        &ReportOptions {
            denominator: Denominator::All,
            ..ReportOptions::default()
        },
    );
    assert_eq!((r.total.rows, r.total.base), (6, 6));
    assert_eq!(r.total.count("dns_failure_txt"), 1);
    assert_eq!(r.total.count("dns_failure_mx"), 1);
    assert_eq!(r.total.mix_count("spf_status", "none"), 1);
    // with MX: a, b, d
    let r = run_report(
        &dir,
        &ReportOptions {
            denominator: Denominator::WithMx,
            ..ReportOptions::default()
        },
    );
    assert_eq!(r.total.base, 3);
    assert_eq!(r.total.count("dmarc_reject"), 1);
    assert_eq!(r.total.count("parked"), 0);
    // by suffix: go.jp (2 resolving), co.jp (2), example (0 resolving)
    let r = run_report(
        &dir,
        &ReportOptions {
            by: Some(GroupBy::Suffix),
            ..ReportOptions::default()
        },
    );
    let keys: Vec<(&str, u64, u64)> = r
        .groups
        .iter()
        .map(|g| (g.group.as_deref().unwrap(), g.rows, g.base))
        .collect();
    assert_eq!(keys, [("co.jp", 2, 2), ("go.jp", 2, 2), ("example", 2, 0)]);
    assert_eq!(r.groups[1].count("dmarc_reject"), 1);
    assert_eq!(r.groups[0].count("parked"), 1);
    assert_eq!(r.groups[2].share("dmarc_reject"), None);
    let tld = |g: GroupBy| {
        run_report(
            &dir,
            &ReportOptions {
                by: Some(g),
                ..ReportOptions::default()
            },
        )
        .groups
        .iter()
        .map(|g| (g.group.clone().unwrap(), g.rows))
        .collect::<Vec<_>>()
    };
    assert_eq!(tld(GroupBy::Tld), [("jp".into(), 4), ("example".into(), 2)]);
    assert_eq!(
        tld(GroupBy::RankBucket),
        [
            ("unranked".into(), 4),
            ("1-1k".into(), 1),
            ("1k-10k".into(), 1)
        ]
    );
    assert_eq!(
        tld(GroupBy::MailboxProvider),
        [
            ("(no mx)".into(), 3),
            ("(unknown)".into(), 1),
            ("google".into(), 1),
            ("microsoft".into(), 1)
        ]
    );
    // filter suffix=go.jp, and a value with a quote stays a literal
    let r = run_report(
        &dir,
        &ReportOptions {
            filters: vec!["suffix=go.jp".parse::<Filter>().unwrap()],
            ..ReportOptions::default()
        },
    );
    assert_eq!((r.total.rows, r.total.base), (2, 2));
    assert_eq!(r.total.count("spf_over_lookup_limit"), 1);
    let r = run_report(
        &dir,
        &ReportOptions {
            filters: vec!["tag=x' OR '1'='1".parse::<Filter>().unwrap()],
            ..ReportOptions::default()
        },
    );
    assert_eq!(r.total.rows, 0);
}

#[test]
fn diff_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let old = fixture::write(tmp.path(), "2026-01-01", fixture::month1());
    let new = fixture::write(tmp.path(), "2026-02-01", fixture::month2());
    let (old, new) = (open_snapshot(&old).unwrap(), open_snapshot(&new).unwrap());
    let d = block_on(diff(
        &old,
        &new,
        &DiffOptions {
            filters: vec![],
            limit: 100,
        },
    ))
    .unwrap();
    assert_eq!((d.common, d.appeared, d.disappeared), (5, 1, 1));
    let cells = |dim: &str| -> Vec<(String, String, u64)> {
        d.dimensions
            .iter()
            .find(|x| x.dimension == dim)
            .unwrap()
            .matrix
            .iter()
            .map(|t| (t.from.clone(), t.to.clone(), t.count))
            .collect()
    };
    let own = |v: &[(&str, &str, u64)]| -> Vec<(String, String, u64)> {
        v.iter()
            .map(|(a, b, n)| (a.to_string(), b.to_string(), *n))
            .collect()
    };
    assert_eq!(
        cells("dmarc"),
        own(&[
            ("(invalid)", "none", 1),
            ("(temperror)", "(temperror)", 1),
            ("quarantine", "reject", 1),
            ("reject", "none", 1),
            ("reject", "reject", 1),
        ])
    );
    assert_eq!(
        cells("spf"),
        own(&[
            ("(permerror)", "(permerror)", 1),
            ("(temperror)", "(temperror)", 1),
            ("-all", "-all", 2),
            ("~all", "-all", 1),
        ])
    );
    let dm = &d.dimensions[0];
    assert_eq!((dm.changed, dm.adopted, dm.regressed), (3, 2, 1));
    assert_eq!(dm.adoption_rate, Some(0.4));
    let sts = &d.dimensions[2];
    assert_eq!((sts.changed, sts.adopted, sts.regressed), (1, 1, 0));
    assert_eq!(d.changes_total, 5);
    let listed: Vec<(&str, &str)> = d
        .changes
        .iter()
        .map(|c| (c.domain.as_str(), c.change.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("a.go.jp", "changed"),
            ("b.go.jp", "changed"),
            ("d.co.jp", "changed"),
            ("e.example", "disappeared"),
            ("g.example", "appeared")
        ]
    );
    let attr: Vec<(&str, &str, &str, &str, u64)> = d
        .attribution
        .iter()
        .filter(|a| a.by == "dns_provider" && a.dimension == "dmarc")
        .map(|a| (a.provider.as_str(), a.from.as_str(), a.to.as_str(), a.count))
        .map(|(p, f, t, n)| (p, f, t, "", n))
        .collect();
    assert_eq!(
        attr,
        [
            ("(unknown)", "(invalid)", "none", "", 1),
            ("cloudflare", "reject", "none", "", 1),
            ("route53", "quarantine", "reject", "", 1)
        ]
    );
}

#[test]
fn diff_exports_changes_as_csv_and_parquet() {
    let tmp = tempfile::tempdir().unwrap();
    let old = fixture::write(tmp.path(), "2026-01-01", fixture::month1());
    let new = fixture::write(tmp.path(), "2026-02-01", fixture::month2());
    let (old, new) = (open_snapshot(&old).unwrap(), open_snapshot(&new).unwrap());
    let csv = tmp.path().join("changes.csv");
    let n = block_on(authcensus_report::diff::export_changes(
        &old,
        &new,
        &[],
        &csv,
    ))
    .unwrap();
    assert_eq!(n, 5);
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "domain,change,dmarc_old,dmarc_new,spf_old,spf_new,mta_sts_old,mta_sts_new,dns_provider,mailbox_provider"
    );
    assert_eq!(
        lines[2],
        "b.go.jp,changed,quarantine,reject,~all,-all,testing,enforce,route53,microsoft"
    );
    assert_eq!(lines.len(), 6);
    let pq = tmp.path().join("changes.parquet");
    let n = block_on(authcensus_report::diff::export_changes(
        &old,
        &new,
        &[],
        &pq,
    ))
    .unwrap();
    assert_eq!(n, 5);
    let f = std::fs::File::open(&pq).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 5);
    let bad = tmp.path().join("changes.txt");
    let err = block_on(authcensus_report::diff::export_changes(
        &old,
        &new,
        &[],
        &bad,
    ))
    .unwrap_err();
    assert!(err.to_string().contains(".csv or .parquet"), "{err}");
}

fn write_with_version(path: &Path, version: Option<&str>) {
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;
    let schema = authcensus_store::schema::snapshot_schema();
    let kv = version.map(|v| {
        vec![KeyValue::new(
            authcensus_store::schema::META_SCHEMA_VERSION.to_string(),
            v.to_string(),
        )]
    });
    let props = WriterProperties::builder()
        .set_key_value_metadata(kv)
        .build();
    let f = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(f, Arc::clone(&schema), Some(props)).unwrap();
    w.write(&arrow_array::RecordBatch::new_empty(schema))
        .unwrap();
    w.close().unwrap();
}

#[test]
fn other_schema_versions_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture::write(tmp.path(), "2030-01-01", fixture::month1());
    // a later part of another version spoils the whole snapshot, by name
    let v2 = dir.join("part-00009.parquet");
    write_with_version(&v2, Some("2"));
    let err = open_snapshot(&dir).unwrap_err().to_string();
    assert!(
        err.contains("part-00009.parquet")
            && err.contains("snapshot schema version 2 is not supported")
            && err.contains("schema version 1"),
        "{err}"
    );
    write_with_version(&v2, None);
    let err = open_snapshot(&dir).unwrap_err().to_string();
    assert!(
        err.contains("not an authcensus snapshot file (no `authcensus.schema_version` metadata)"),
        "{err}"
    );
    std::fs::write(&v2, b"not parquet at all").unwrap();
    let err = open_snapshot(&dir).unwrap_err().to_string();
    assert!(err.contains("not a readable Parquet file"), "{err}");
    std::fs::remove_file(&v2).unwrap();
    assert!(open_snapshot(&dir).is_ok());
    // a root with two snapshots must be named, an empty one is refused
    fixture::write(tmp.path(), "2030-02-01", fixture::month2());
    let err = open_snapshot(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("holds 2 snapshots"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = open_snapshot(empty.path()).unwrap_err().to_string();
    assert!(err.contains("no part-NNNNN.parquet files"), "{err}");
}

#[test]
fn trend_over_two_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    fixture::write(tmp.path(), "2026-02-01", fixture::month2());
    fixture::write(tmp.path(), "2026-01-01", fixture::month1());
    let t = block_on(authcensus_report::trend::trend(
        tmp.path(),
        &ReportOptions {
            by: Some(GroupBy::Suffix),
            ..ReportOptions::default()
        },
    ))
    .unwrap();
    assert_eq!(t.snapshots, ["2026-01-01", "2026-02-01"]);
    let total: Vec<(u64, u64)> = t
        .series(None)
        .iter()
        .map(|p| (p.figures.base, p.figures.count("dmarc_reject")))
        .collect();
    // month 2: g.example resolves (base 5); reject: b and c
    assert_eq!(total, [(4, 2), (5, 2)]);
    let go: Vec<u64> = t
        .series(Some("go.jp"))
        .iter()
        .map(|p| p.figures.count("dmarc_enforcing"))
        .collect();
    assert_eq!(go, [2, 1]);
}
