//! Writer, reader and resume behaviour on real files.

use authcensus_store::layout::{part_files, snapshot_dir};
use authcensus_store::reader::{read_domains, read_snapshot_rows};
use authcensus_store::{SnapshotRow, SnapshotWriter, WriterOptions};

fn row(domain: &str, i: usize) -> SnapshotRow {
    SnapshotRow {
        domain: domain.to_string(),
        registrable_domain: Some(domain.to_string()),
        public_suffix: Some("example".into()),
        input_source: "list.txt".into(),
        input_tag: i.is_multiple_of(2).then(|| "even".to_string()),
        input_rank: Some(i as i64 + 1),
        crawled_at_us: 1_700_000_000_000_000 + i as i64,
        domain_status: "ok".into(),
        spf_record: Some(format!("v=spf1 ip4:192.0.2.{} -all", i % 250)),
        spf_status: "valid".into(),
        spf_all: Some("-all".into()),
        spf_dns_lookups: Some((i % 12) as i32),
        spf_void_lookups: Some(0),
        spf_errors: if i.is_multiple_of(3) {
            vec!["too_many_lookups".into()]
        } else {
            vec![]
        },
        spf_dns_status: "answer".into(),
        dmarc_record: Some("v=DMARC1; p=reject; rua=mailto:a@example".into()),
        dmarc_status: "valid".into(),
        dmarc_source: Some("domain".into()),
        dmarc_found_at: Some(domain.to_string()),
        dmarc_policy: Some("reject".into()),
        dmarc_subdomain_policy: None,
        dmarc_nonexistent_policy: None,
        dmarc_pct: Some(100),
        dmarc_effective_policy: Some("reject".into()),
        dmarc_rua: vec!["mailto:a@example".into(), "mailto:b@example".into()],
        dmarc_ruf: vec![],
        dmarc_errors: vec![],
        dmarc_external_unauthorized: vec![],
        dmarc_org_domain_treewalk: Some(domain.to_string()),
        dmarc_org_domain_psl: Some(domain.to_string()),
        dmarc_rfc7489_status: "valid".into(),
        dmarc_rfc7489_effective_policy: Some("reject".into()),
        mx_exchanges: vec![format!("mx1.{domain}"), format!("mx2.{domain}")],
        mx_null: false,
        mx_dns_status: "answer".into(),
        mx_provider: None,
        mta_sts_status: "valid".into(),
        mta_sts_mode: Some("enforce".into()),
        mta_sts_mx_mismatch: Some(i.is_multiple_of(5)),
        mta_sts_id: Some("20261122".into()),
        mta_sts_fetch_error: None,
        tlsrpt_status: "none".into(),
        tlsrpt_rua: vec![],
        bimi_status: "none".into(),
        bimi_logo_url: None,
        bimi_authority_url: None,
        ns_hosts: vec!["ns1.example".into()],
        dns_provider: Some("cloudflare".into()),
        records_truncated: false,
        dns_queries: 7,
    }
}

fn options(rows_per_file: usize) -> WriterOptions {
    WriterOptions {
        rows_per_file,
        row_group_rows: 4,
        zstd_level: 3,
        tool_version: "test".into(),
        shard: None,
        after_part: None,
    }
}

#[test]
fn rows_round_trip_sorted_within_files() {
    let out = tempfile::tempdir().unwrap();
    let (mut w, state) = SnapshotWriter::open(out.path(), "s1", options(10)).unwrap();
    assert!(state.done.is_empty());
    let mut expected = Vec::new();
    for i in (0..25).rev() {
        let r = row(&format!("d{i:03}.example"), i);
        expected.push(r.clone());
        w.push(r).unwrap();
    }
    let parts = w.finish(0).unwrap();
    assert_eq!(
        parts.iter().map(|p| p.rows).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    let dir = snapshot_dir(out.path(), "s1");
    let files = part_files(&dir).unwrap();
    assert_eq!(files.len(), 3);
    for f in &files {
        let domains = read_domains(f).unwrap();
        let mut sorted = domains.clone();
        sorted.sort();
        assert_eq!(domains, sorted, "{} not sorted", f.display());
    }
    expected.sort_by(|a, b| a.domain.cmp(&b.domain));
    assert_eq!(read_snapshot_rows(&dir).unwrap(), expected);
}

#[test]
fn resume_skips_closed_files_and_removes_temporaries() {
    let out = tempfile::tempdir().unwrap();
    let (mut w, _) = SnapshotWriter::open(out.path(), "s", options(3)).unwrap();
    for i in 0..7 {
        w.push(row(&format!("r{i}.example"), i)).unwrap();
    }
    // Simulate a crash: two closed files, one row buffered, and a torn temporary file.
    assert_eq!(w.buffered(), 1);
    drop(w);
    let dir = snapshot_dir(out.path(), "s");
    std::fs::write(dir.join(".part-00002.parquet.tmp"), b"PAR1 torn").unwrap();

    let (mut w, state) = SnapshotWriter::open(out.path(), "s", options(3)).unwrap();
    assert_eq!(state.parts.len(), 2);
    assert_eq!(state.removed_temporaries.len(), 1);
    assert_eq!(state.done.len(), 6);
    assert!(!state.done.contains("r6.example"));
    for i in 0..9 {
        let d = format!("r{i}.example");
        if !state.done.contains(&d) {
            w.push(row(&d, i)).unwrap();
        }
    }
    w.finish(state.parts.len()).unwrap();
    let rows = read_snapshot_rows(&dir).unwrap();
    let domains: Vec<_> = rows.iter().map(|r| r.domain.as_str()).collect();
    let expected: Vec<String> = {
        let mut v: Vec<String> = (0..9).map(|i| format!("r{i}.example")).collect();
        v.sort();
        v
    };
    assert_eq!(domains, expected);
    assert!(
        std::fs::read_dir(&dir)
            .unwrap()
            .all(|e| { !e.unwrap().file_name().to_string_lossy().ends_with(".tmp") })
    );
}

#[test]
fn zero_rows_is_a_valid_snapshot() {
    let out = tempfile::tempdir().unwrap();
    let (w, _) = SnapshotWriter::open(out.path(), "empty", options(10)).unwrap();
    let parts = w.finish(0).unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].rows, 0);
    let dir = snapshot_dir(out.path(), "empty");
    assert!(read_snapshot_rows(&dir).unwrap().is_empty());
}

#[test]
fn foreign_parquet_is_refused_by_name() {
    let out = tempfile::tempdir().unwrap();
    let (mut w, _) = SnapshotWriter::open(out.path(), "s", options(10)).unwrap();
    w.push(row("a.example", 1)).unwrap();
    w.finish(0).unwrap();
    let dir = snapshot_dir(out.path(), "s");
    // A file that is not Parquet at all, under a part name: resume must refuse
    // it with its path rather than trust or ignore it.
    std::fs::write(dir.join("part-00007.parquet"), b"not parquet").unwrap();
    let err = SnapshotWriter::open(out.path(), "s", options(10)).unwrap_err();
    assert!(err.to_string().contains("part-00007.parquet"), "{err}");
}

#[test]
fn unwritable_output_names_the_path() {
    let out = tempfile::tempdir().unwrap();
    let blocker = out.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let err = SnapshotWriter::open(&blocker, "s", options(10)).unwrap_err();
    assert!(err.to_string().contains("snapshot=s"), "{err}");
}

/// DuckDB reads every column with the documented types, through the Hive
/// layout users query (`read_parquet('<out>/*/*.parquet', hive_partitioning = true)`).
/// `scripts/test` installs the `duckdb` Python package; without it this test
/// fails when `AUTHCENSUS_REQUIRE_DUCKDB=1` (set by `scripts/test`) and skips
/// loudly otherwise.
#[test]
fn duckdb_reads_every_column() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import duckdb"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var("AUTHCENSUS_REQUIRE_DUCKDB").is_err(),
            "python3 -c 'import duckdb' failed and AUTHCENSUS_REQUIRE_DUCKDB is set"
        );
        eprintln!("SKIP: python3 duckdb not installed (scripts/test installs it)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    for snap in ["2026-10-01", "2026-11-01"] {
        let (mut w, _) = SnapshotWriter::open(out.path(), snap, options(4)).unwrap();
        for i in 0..6 {
            w.push(row(&format!("d{i}.example"), i)).unwrap();
        }
        w.finish(0).unwrap();
    }
    let script = r#"
import duckdb, json, sys
root = sys.argv[1]
con = duckdb.connect()
rel = f"read_parquet('{root}/*/*.parquet', hive_partitioning = true)"
types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()}
counts = con.execute(f"SELECT snapshot, count(*), sum(len(dmarc_rua)), count(*) FILTER (WHERE mta_sts_mx_mismatch), max(spf_dns_lookups) FROM {rel} GROUP BY snapshot ORDER BY snapshot").fetchall()
print(json.dumps({"types": types, "counts": [[str(c) for c in r] for r in counts]}))
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", script, out.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "duckdb failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let types = v["types"].as_object().unwrap();
    let expect = [
        ("domain", "VARCHAR"),
        ("input_rank", "BIGINT"),
        ("crawled_at", "TIMESTAMP WITH TIME ZONE"),
        ("spf_dns_lookups", "INTEGER"),
        ("spf_errors", "VARCHAR[]"),
        ("dmarc_pct", "INTEGER"),
        ("dmarc_rua", "VARCHAR[]"),
        ("mx_exchanges", "VARCHAR[]"),
        ("mx_null", "BOOLEAN"),
        ("mta_sts_mx_mismatch", "BOOLEAN"),
        ("bimi_logo_url", "VARCHAR"),
        ("snapshot", "DATE"),
    ];
    for (col, ty) in expect {
        assert_eq!(types[col], ty, "column {col}");
    }
    // every schema column plus the hive `snapshot` column
    assert_eq!(
        types.len(),
        authcensus_store::schema::snapshot_schema().fields().len() + 1
    );
    assert_eq!(
        v["counts"],
        serde_json::json!([
            ["2026-10-01", "6", "12", "2", "5"],
            ["2026-11-01", "6", "12", "2", "5"]
        ])
    );
}

/// A sharded snapshot on an object store (`file://`, the same code path as
/// `s3://`): parts uploaded as they close, a shard that crashed is refused by
/// name, its closed-but-unuploaded parts are uploaded, and it resumes on
/// another machine from the store alone.
#[test]
fn sharded_snapshot_on_an_object_store_resumes_and_assembles() {
    use authcensus_store::manifest::ShardInfo;
    use authcensus_store::{Manifest, RemoteStore, StoreError, snapshot_files};
    use std::sync::Arc;

    let tmp = tempfile::tempdir().unwrap();
    let bucket = tmp.path().join("bucket");
    std::fs::create_dir(&bucket).unwrap();
    let url = format!("file://{}/surveys", bucket.display());
    let store = Arc::new(RemoteStore::open(&url).unwrap());
    let domains: Vec<String> = (0..30).map(|i| format!("d{i:02}.example")).collect();
    let shard_of = |i: usize| (i % 3) as u64;
    let rel = |k: u64| format!("snapshot=s/shard={k}");
    let shard_options = |k: u64, upload: bool| WriterOptions {
        shard: Some(k),
        after_part: upload.then(|| store.part_uploader(&rel(k))),
        ..options(4)
    };
    let finish_manifest = |k: u64, rows: u64, complete: bool| {
        let mut m = Manifest::new("test", "s");
        m.complete = complete;
        m.rows = rows;
        m.shard = Some(ShardInfo {
            index: k,
            count: 3,
            assignment: "sha256_first8_be_mod_n".into(),
            source: "--shard".into(),
        });
        m
    };
    // Shards 0 and 1 complete; each part uploaded as it closes.
    for k in 0..2u64 {
        let staging = tmp.path().join(format!("machine-{k}"));
        let (mut w, _) = SnapshotWriter::open(&staging, "s", shard_options(k, true)).unwrap();
        for (i, d) in domains
            .iter()
            .enumerate()
            .filter(|(i, _)| shard_of(*i) == k)
        {
            w.push(row(d, i)).unwrap();
        }
        let dir = w.dir().to_path_buf();
        let parts = w.finish(0).unwrap();
        assert_eq!(dir, staging.join(format!("snapshot=s/shard={k}")));
        let mut m = finish_manifest(k, 10, true);
        m.parts = parts;
        m.write(&dir).unwrap();
        store
            .put(
                &format!("{}/manifest.json", rel(k)),
                std::fs::read(dir.join("manifest.json")).unwrap(),
            )
            .unwrap();
    }
    // Shard 2 crashes after closing two parts whose uploads never ran.
    let crashed = tmp.path().join("machine-2");
    let (mut w, _) = SnapshotWriter::open(&crashed, "s", shard_options(2, false)).unwrap();
    let mine: Vec<(usize, &String)> = domains
        .iter()
        .enumerate()
        .filter(|(i, _)| shard_of(*i) == 2)
        .collect();
    for (i, d) in &mine[..9] {
        w.push(row(d, *i)).unwrap();
    }
    drop(w); // 8 rows in two closed parts, one row lost in the buffer
    let err = store.snapshot_files("s").unwrap_err();
    let message = err.to_string();
    match err {
        StoreError::Incomplete {
            count,
            done,
            missing,
            unfinished,
            ..
        } => {
            assert_eq!((count, done, missing, unfinished), (3, 2, vec![2], vec![]));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        message.contains("2 of 3 shards finished") && message.contains("shard 2 of 0..3 missing"),
        "{message}"
    );
    // A manifest saying complete: false is named as unfinished.
    store
        .put(
            &format!("{}/manifest.json", rel(2)),
            serde_json::to_vec(&finish_manifest(2, 8, false)).unwrap(),
        )
        .unwrap();
    match store.snapshot_files("s").unwrap_err() {
        StoreError::Incomplete {
            missing,
            unfinished,
            detail,
            ..
        } => {
            assert_eq!((missing, unfinished), (vec![], vec![2]));
            assert!(detail.contains("shard 2 says complete: false"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // Restarted on the same machine, the closed parts are uploaded first.
    let sync = store
        .sync_run_dir(&rel(2), &crashed.join("snapshot=s/shard=2"))
        .unwrap();
    assert_eq!(sync.uploaded, ["part-00000.parquet", "part-00001.parquet"]);
    assert_eq!(sync.downloaded, ["manifest.json"]);
    // ... but it resumes on another machine, from the store alone.
    let other = tmp.path().join("machine-2b");
    let sync = store
        .sync_run_dir(&rel(2), &other.join("snapshot=s/shard=2"))
        .unwrap();
    assert_eq!(
        sync.downloaded,
        ["manifest.json", "part-00000.parquet", "part-00001.parquet"]
    );
    let (mut w, state) = SnapshotWriter::open(&other, "s", shard_options(2, true)).unwrap();
    assert_eq!(state.done.len(), 8);
    assert_eq!(state.parts.len(), 2);
    for (i, d) in &mine {
        if !state.done.contains(*d) {
            w.push(row(d, *i)).unwrap();
        }
    }
    let dir = w.dir().to_path_buf();
    let parts = w.finish(state.parts.len()).unwrap();
    assert_eq!(parts[0].file, "part-00002.parquet");
    let mut m = finish_manifest(2, 10, true);
    m.parts = part_files(&dir)
        .unwrap()
        .iter()
        .map(|p| authcensus_store::writer::PartInfo {
            file: p.file_name().unwrap().to_string_lossy().into_owned(),
            rows: 0,
            bytes: 0,
        })
        .collect();
    store
        .put(
            &format!("{}/manifest.json", rel(2)),
            serde_json::to_vec(&m).unwrap(),
        )
        .unwrap();

    let files = store.snapshot_files("s").unwrap();
    assert_eq!(files.shard_count, Some(3));
    assert_eq!(files.rows(), 30);
    assert_eq!(files.parts.len(), 3 + 3 + 3);
    let local = tmp.path().join("download");
    store.download_snapshot("s", &local).unwrap();
    let again = snapshot_files(&snapshot_dir(&local, "s")).unwrap();
    assert_eq!(again.parts, files.parts);
    let mut got: Vec<String> = again
        .part_paths(&snapshot_dir(&local, "s"))
        .iter()
        .flat_map(|p| read_domains(p).unwrap())
        .collect();
    got.sort();
    assert_eq!(got, domains, "every domain exactly once");
    // Locally, a shard directory without its manifest is named too.
    std::fs::remove_file(snapshot_dir(&local, "s").join("shard=1/manifest.json")).unwrap();
    let e = snapshot_files(&snapshot_dir(&local, "s"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("shard 1 of 0..3 missing"), "{e}");
}

/// The encoding choices of `writer_properties` reach the file: the columns of
/// `PLAIN_COLUMNS` have no dictionary page, the others (but booleans) do; exactly the
/// columns of `STATISTICS_COLUMNS` carry min/max, and the domain's are the
/// part's first and last names.
#[test]
fn part_files_carry_dictionaries_and_statistics_where_the_writer_says() {
    use authcensus_store::writer::{PLAIN_COLUMNS, STATISTICS_COLUMNS};
    use parquet::basic::Type as PhysicalType;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::file::statistics::Statistics;

    let out = tempfile::tempdir().unwrap();
    let (mut w, _) = SnapshotWriter::open(out.path(), "s1", options(100)).unwrap();
    for i in (0..40).rev() {
        w.push(row(&format!("d{i:03}.example"), i)).unwrap();
    }
    w.finish(0).unwrap();
    let files = part_files(&snapshot_dir(out.path(), "s1")).unwrap();
    let reader = SerializedFileReader::new(std::fs::File::open(&files[0]).unwrap()).unwrap();
    let groups = reader.metadata().row_groups();
    assert_eq!(groups.len(), 10, "row groups of 4 rows");
    let (mut plain, mut with_stats) = (Vec::new(), Vec::new());
    for col in groups[0].columns() {
        let path = col.column_path().parts();
        let top = path[0].as_str();
        // Parquet has no dictionary encoding for booleans.
        if col.dictionary_page_offset().is_none() && col.column_type() != PhysicalType::BOOLEAN {
            plain.push(top.to_string());
        }
        let stats = col.statistics();
        if stats.is_some_and(|s| s.min_bytes_opt().is_some()) {
            with_stats.push(top.to_string());
        }
    }
    assert_eq!(plain, PLAIN_COLUMNS, "columns without a dictionary page");
    assert_eq!(with_stats, STATISTICS_COLUMNS, "columns with min/max");
    let domain = groups[0]
        .columns()
        .iter()
        .find(|c| c.column_path().string() == "domain")
        .unwrap();
    match domain.statistics() {
        Some(Statistics::ByteArray(s)) => {
            assert_eq!(s.min_opt().unwrap().as_utf8().unwrap(), "d000.example");
            assert_eq!(s.max_opt().unwrap().as_utf8().unwrap(), "d003.example");
        }
        other => panic!("domain statistics: {other:?}"),
    }
}

mod by_domain {
    use authcensus_store::SnapshotRow;
    use authcensus_store::writer::by_domain;
    use proptest::prelude::*;

    proptest! {
        /// The keyed sort gives exactly the byte order of the names, also
        /// for names sharing their first eight bytes, names that are
        /// prefixes of others, and NUL bytes (which the zero padding of a
        /// short key must not confuse with the end of a name).
        #[test]
        fn orders_exactly_as_the_names(names in proptest::collection::vec("(abcdefgh)?[a\\x00b.]{0,10}", 0..60)) {
            let rows: Vec<SnapshotRow> = names
                .iter()
                .map(|d| SnapshotRow { domain: d.clone(), ..SnapshotRow::default() })
                .collect();
            let got: Vec<&str> = by_domain(&rows).iter().map(|r| r.domain.as_str()).collect();
            let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
            want.sort_unstable();
            prop_assert_eq!(got, want);
        }
    }
}
