//! Every `analysis/*.sql` file run with DuckDB on two generated snapshots,
//! each result checked against the report's number for the same question.
//! Skips without the `duckdb` Python package unless
//! `AUTHCENSUS_REQUIRE_DUCKDB=1` (`scripts/test` installs it and sets that).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use authcensus_report::diff::{DiffOptions, diff};
use authcensus_report::trend::{TrendReport, trend};
use authcensus_report::{Denominator, GroupBy, ReportOptions, open_snapshot};
use authcensus_testbed::{GenerateOptions, generate};
use authcensus_testsupport::workspace_root;
use serde_json::Value;

use crate::block_on;

const RUNNER: &str = r#"
import duckdb, json, sys
root, path = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET VARIABLE root = '" + root.replace("'", "''") + "'")
rel = con.sql(open(path).read())
out = []
for r in rel.fetchall():
    out.append([v if isinstance(v, (int, float, type(None))) else str(v) for v in r])
print(json.dumps(out))
"#;

fn duckdb_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("AUTHCENSUS_REQUIRE_DUCKDB").as_deref() != Ok("1"),
            "python3 -c 'import duckdb' failed and AUTHCENSUS_REQUIRE_DUCKDB is set"
        );
        eprintln!("SKIP: python3 duckdb not installed (scripts/test installs it)");
    }
    ok
}

fn run_sql(root: &Path, file: &Path) -> Vec<Vec<Value>> {
    let o = Command::new("python3")
        .args(["-c", RUNNER])
        .arg(root)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn s(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

fn trend_of(root: &Path, opts: ReportOptions) -> TrendReport {
    block_on(trend(root, &opts)).unwrap()
}

#[test]
fn analysis_sql_matches_the_report() {
    if !duckdb_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (u1, u2) = (tmp.path().join("u1"), tmp.path().join("u2"));
    generate(&GenerateOptions::new(2000, 5, &u1)).unwrap();
    let mut next = GenerateOptions::new(2000, 5, &u2);
    next.evolve_from = Some(u1.clone());
    generate(&next).unwrap();
    let root = tmp.path().join("snapshots");
    for (u, id) in [(&u1, "2026-10-01"), (&u2, "2026-11-01")] {
        let dir = root.join(format!("snapshot={id}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            u.join("truth/part-00000.parquet"),
            dir.join("part-00000.parquet"),
        )
        .unwrap();
    }
    let analysis = workspace_root().join("analysis");
    let mut files: Vec<String> = std::fs::read_dir(&analysis)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "dmarc_policy_by_suffix.sql",
            "enforcement_by_snapshot.sql",
            "mta_sts_failures.sql",
            "reject_uptake.sql",
            "spf_lookup_offenders.sql"
        ],
        "a new analysis file needs a comparison in this test"
    );
    let sql = |f: &str| run_sql(&root, &analysis.join(f));

    // DMARC policy mix by suffix = report --by suffix (resolving)
    let by_suffix = trend_of(
        &root,
        ReportOptions {
            by: Some(GroupBy::Suffix),
            ..ReportOptions::default()
        },
    );
    let mut expected = BTreeMap::new();
    for p in by_suffix
        .points
        .iter()
        .filter(|p| p.figures.group.is_some())
    {
        let g = p.figures.group.clone().unwrap();
        for i in &p.figures.mixes["dmarc_policy"] {
            expected.insert((p.snapshot.clone(), g.clone(), i.value.clone()), i.count);
        }
        for i in p.figures.mixes["dmarc_status"]
            .iter()
            .filter(|i| i.value != "valid")
        {
            expected.insert(
                (p.snapshot.clone(), g.clone(), format!("({})", i.value)),
                i.count,
            );
        }
    }
    let actual: BTreeMap<_, _> = sql("dmarc_policy_by_suffix.sql")
        .iter()
        .map(|r| {
            let suffix = if r[1].is_null() {
                "(none)".into()
            } else {
                s(&r[1])
            };
            ((s(&r[0]), suffix, s(&r[2])), n(&r[3]))
        })
        .collect();
    assert!(actual.len() > 10, "{actual:?}");
    assert_eq!(actual, expected);

    // enforcement per snapshot = report metrics (resolving)
    let total = trend_of(&root, ReportOptions::default());
    let expected: Vec<Vec<u64>> = total
        .series(None)
        .iter()
        .map(|p| {
            let f = &p.figures;
            vec![
                f.base,
                f.count("dmarc_valid"),
                f.count("dmarc_reject"),
                f.count("dmarc_enforcing"),
                f.count("dmarc_enforcing_strict"),
            ]
        })
        .collect();
    let actual: Vec<Vec<u64>> = sql("enforcement_by_snapshot.sql")
        .iter()
        .map(|r| r[1..].iter().map(n).collect())
        .collect();
    assert_eq!(actual, expected);
    assert!(expected[0][3] > 0);

    // MTA-STS failures = the report's mta_sts_status mix and mx mismatch metric
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for p in total.series(None) {
        for i in &p.figures.mixes["mta_sts_status"] {
            if i.value != "none" && i.value != "valid" {
                expected.insert((p.snapshot.clone(), i.value.clone()), i.count);
            }
        }
        let mm = p.figures.count("mta_sts_mx_mismatch");
        if mm > 0 {
            expected.insert((p.snapshot.clone(), "mx_mismatch".into()), mm);
        }
    }
    let mut actual: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in sql("mta_sts_failures.sql") {
        *actual.entry((s(&r[0]), s(&r[1]))).or_default() += n(&r[3]);
    }
    assert!(!actual.is_empty());
    assert_eq!(actual, expected);

    // SPF lookup-limit offenders (all rows) = spf_over_lookup_limit over all
    let all = trend_of(
        &root,
        ReportOptions {
            denominator: Denominator::All,
            ..ReportOptions::default()
        },
    );
    let mut actual: BTreeMap<String, u64> = BTreeMap::new();
    for r in sql("spf_lookup_offenders.sql") {
        *actual.entry(s(&r[0])).or_default() += 1;
    }
    let expected: BTreeMap<String, u64> = all
        .series(None)
        .iter()
        .filter(|p| p.figures.count("spf_over_lookup_limit") > 0)
        .map(|p| (p.snapshot.clone(), p.figures.count("spf_over_lookup_limit")))
        .collect();
    assert_eq!(actual, expected);

    // p=reject uptake: changed domains = the diff's DMARC changes
    let old = open_snapshot(&root.join("snapshot=2026-10-01")).unwrap();
    let new = open_snapshot(&root.join("snapshot=2026-11-01")).unwrap();
    let d = block_on(diff(
        &old,
        &new,
        &DiffOptions {
            filters: vec![],
            limit: 1_000_000,
        },
    ))
    .unwrap();
    let expected: BTreeSet<(String, String, String)> = d
        .changes
        .iter()
        .filter(|c| c.change == "changed")
        .filter_map(|c| match c.labels["dmarc"].clone() {
            (Some(a), Some(b)) if a != b => Some((c.domain.clone(), a, b)),
            _ => None,
        })
        .collect();
    let actual: BTreeSet<(String, String, String)> = sql("reject_uptake.sql")
        .iter()
        .map(|r| (s(&r[0]), s(&r[1]), s(&r[2])))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(actual, expected);
}

const REWRITE: &str = r#"
import duckdb, sys
src, dst, sid = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute(f"""COPY (SELECT * FROM read_parquet('{src}')) TO '{dst}'
  (FORMAT parquet, KV_METADATA {{'authcensus.schema_version': '1',
   'authcensus.snapshot_id': '{sid}'}})""")
"#;

fn a_base(dir: &Path) -> u64 {
    let opts = ReportOptions {
        denominator: Denominator::All,
        ..ReportOptions::default()
    };
    block_on(authcensus_report::summary::report(
        &open_snapshot(dir).unwrap(),
        &opts,
    ))
    .unwrap()
    .total
    .base
}

/// A snapshot rewritten by DuckDB (list elements nullable and named
/// `element`, every column nullable) reads to the same report and diffs to
/// nothing against the original.
#[test]
fn a_snapshot_rewritten_by_duckdb_reads_the_same() {
    if !duckdb_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let u = tmp.path().join("u");
    generate(&GenerateOptions::new(1500, 9, &u)).unwrap();
    let ours = tmp.path().join("a/snapshot=2026-10-01");
    let theirs = tmp.path().join("b/snapshot=2026-10-01");
    std::fs::create_dir_all(&ours).unwrap();
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::copy(
        u.join("truth/part-00000.parquet"),
        ours.join("part-00000.parquet"),
    )
    .unwrap();
    let o = Command::new("python3")
        .args(["-c", REWRITE])
        .arg(ours.join("part-00000.parquet"))
        .arg(theirs.join("part-00000.parquet"))
        .arg("2026-10-01")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The rewrite really has the shape that used to be refused.
    let file = std::fs::File::open(theirs.join("part-00000.parquet")).unwrap();
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let rua = builder
        .schema()
        .field_with_name("dmarc_rua")
        .unwrap()
        .clone();
    match rua.data_type() {
        datafusion::arrow::datatypes::DataType::List(item) => {
            assert!(item.is_nullable(), "{rua:?}");
            assert_eq!(item.name(), "element");
        }
        other => panic!("dmarc_rua is {other:?}"),
    }

    for by in [None, Some(GroupBy::Suffix)] {
        let opts = ReportOptions {
            by,
            ..ReportOptions::default()
        };
        let a = block_on(authcensus_report::summary::report(
            &open_snapshot(&ours).unwrap(),
            &opts,
        ))
        .unwrap();
        let b = block_on(authcensus_report::summary::report(
            &open_snapshot(&theirs).unwrap(),
            &opts,
        ))
        .unwrap();
        assert!(a.total.base > 1000, "{}", a.total.base);
        assert_eq!(a, b);
    }
    let d = block_on(diff(
        &open_snapshot(&ours).unwrap(),
        &open_snapshot(&theirs).unwrap(),
        &DiffOptions::default(),
    ))
    .unwrap();
    assert_eq!((d.appeared, d.disappeared, d.changes_total), (0, 0, 0));
    assert_eq!(d.common, a_base(&ours));
}
