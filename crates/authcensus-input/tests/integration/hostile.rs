//! Hostile inputs generated in the test: invalid UTF-8, NUL bytes, a 1 MB
//! line, mixed CRLF/LF, a BOM, empty files, truncated gzip and zstd. No
//! valid line may be lost, and every other line is accounted for.

use std::io::Write;

use authcensus_input::{Compression, Format, InputError, RejectReason, StreamOptions};

use super::{assert_accounting, run, run_ok, spec};

/// The corpus: (bytes, expected domains in order, expected (line, reason)).
fn corpus() -> (Vec<u8>, Vec<&'static str>, Vec<(u64, RejectReason)>) {
    let mut b = Vec::new();
    b.extend_from_slice(b"\xEF\xBB\xBFFirst.example\r\n"); // 1 BOM + CRLF
    b.extend_from_slice(b"# comment\n"); // 2
    b.extend_from_slice(b"\n"); // 3
    b.extend_from_slice(b"bad\xff\xfeutf8.example\n"); // 4
    b.extend_from_slice(b"second.example.\r\n"); // 5
    b.extend_from_slice(b"nul\x00byte.example\n"); // 6
    b.extend(std::iter::repeat_n(b'a', 1024 * 1024)); // 7: 1 MB line
    b.extend_from_slice(b"\n");
    b.extend_from_slice(b"  THIRD.example  # trailing comment\r\n"); // 8
    b.extend_from_slice(b"   \t  \r\n"); // 9
    b.extend_from_slice(b"https://url.example/path\n"); // 10
    b.extend_from_slice(b"192.0.2.7\n"); // 11
    b.extend_from_slice("bücher.example\n".as_bytes()); // 12
    b.extend_from_slice(b"first.example\n"); // 13 duplicate
    b.extend_from_slice(b"two words.example\n"); // 14
    b.extend_from_slice(b"last.example"); // 15, no final newline
    let domains = vec![
        "first.example",
        "second.example",
        "third.example",
        "xn--bcher-kva.example",
        "last.example",
    ];
    let rejects = vec![
        (4, RejectReason::InvalidUtf8),
        (6, RejectReason::NulByte),
        (7, RejectReason::LineTooLong),
        (10, RejectReason::Url),
        (11, RejectReason::IpAddress),
        (14, RejectReason::MultipleFields),
    ];
    (b, domains, rejects)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn check_corpus_file(path: &std::path::Path, compression: Compression) {
    let (_, want_domains, want_rejects) = corpus();
    let r = run_ok(vec![spec(path)], StreamOptions::default());
    let got: Vec<&str> = r.domains.iter().map(|d| d.domain.as_str()).collect();
    assert_eq!(got, want_domains);
    let rejects: Vec<(u64, RejectReason)> =
        r.rejections.iter().map(|x| (x.line, x.reason)).collect();
    assert_eq!(rejects, want_rejects);
    let s = &r.stats.sources[0];
    assert_eq!(s.format, Some(Format::Plain));
    assert_eq!(s.compression, Some(compression));
    assert_eq!(s.lines, 15);
    assert_eq!(s.duplicates, 1);
    assert_accounting(&r.stats);
    // Raw text is escaped and bounded.
    assert_eq!(r.rejections[0].raw, "bad\\xff\\xfeutf8.example");
    assert_eq!(r.rejections[1].raw, "nul\\u{0}byte.example");
    assert_eq!(r.rejections[2].raw.len(), 203);
    assert_eq!(r.domains[2].line, 8);
}

#[test]
fn hostile_plain_gzip_and_zstd() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _, _) = corpus();
    let plain = dir.path().join("hostile.txt");
    std::fs::write(&plain, &bytes).unwrap();
    check_corpus_file(&plain, Compression::None);
    let gz = dir.path().join("hostile.txt.gz");
    std::fs::write(&gz, gzip(&bytes)).unwrap();
    check_corpus_file(&gz, Compression::Gzip);
    // No extension: detection is by magic bytes.
    let zst = dir.path().join("hostile-data");
    std::fs::write(&zst, zstd::encode_all(&bytes[..], 3).unwrap()).unwrap();
    check_corpus_file(&zst, Compression::Zstd);
}

#[test]
fn empty_files_yield_nothing_without_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let empty_gz = dir.path().join("empty.gz");
    std::fs::write(&empty_gz, gzip(b"")).unwrap();
    let r = run_ok(
        vec![spec(&empty), spec(&empty_gz)],
        StreamOptions::default(),
    );
    assert!(r.domains.is_empty() && r.rejections.is_empty());
    assert_eq!(r.stats.sources[0].lines, 0);
    assert_eq!(r.stats.sources[1].compression, Some(Compression::Gzip));
}

#[test]
fn truncated_gzip_fails_loudly_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = Vec::new();
    for i in 0..20_000 {
        writeln!(text, "host{i}.example").unwrap();
    }
    let mut gz = gzip(&text);
    let cut = gz.len() / 2;
    gz.truncate(cut);
    let path = dir.path().join("cut.txt.gz");
    std::fs::write(&path, &gz).unwrap();
    let r = run(vec![spec(&path)], StreamOptions::default());
    let err = r.error.expect("a truncated gzip must be an error");
    match &err {
        InputError::Read {
            source_name,
            compression,
            offset,
            raw_offset,
            ..
        } => {
            assert_eq!(source_name, &path.display().to_string());
            assert_eq!(*compression, Compression::Gzip);
            assert!(
                *offset > 0 && *offset < text.len() as u64,
                "offset {offset}"
            );
            assert_eq!(*raw_offset, cut as u64);
        }
        other => panic!("wrong error {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("cut.txt.gz") && msg.contains("at byte"),
        "{msg}"
    );
    // What was yielded before is a prefix of the input, in order.
    for (i, d) in r.domains.iter().enumerate() {
        assert_eq!(d.domain, format!("host{i}.example"));
    }
}

#[test]
fn corrupt_gzip_and_zstd_and_missing_file_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = gzip(&b"a.example\n".repeat(5000));
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let path = dir.path().join("corrupt.gz");
    std::fs::write(&path, &gz).unwrap();
    assert!(matches!(
        run(vec![spec(&path)], StreamOptions::default()).error,
        Some(InputError::Read { .. })
    ));

    let mut z = zstd::encode_all(&b"b.example\n".repeat(5000)[..], 3).unwrap();
    z.truncate(z.len() - 5);
    let path = dir.path().join("cut.zst");
    std::fs::write(&path, &z).unwrap();
    assert!(matches!(
        run(vec![spec(&path)], StreamOptions::default()).error,
        Some(InputError::Read { .. })
    ));

    let missing = dir.path().join("nope.txt");
    let r = run(vec![spec(&missing)], StreamOptions::default());
    assert!(matches!(r.error, Some(InputError::Open { .. })));
}

#[test]
fn zone_include_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inc.zone");
    std::fs::write(&path, "$ORIGIN t.\na NS x.\n$INCLUDE other.zone\nb NS y.\n").unwrap();
    let r = run(vec![spec(&path)], StreamOptions::default());
    assert_eq!(r.domains.len(), 1);
    assert!(matches!(
        r.error,
        Some(InputError::ZoneInclude { line: 3, .. })
    ));
}

#[test]
fn csv_column_by_index_and_missing_header_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.csv");
    std::fs::write(&path, "x,Example.org,1\ny,\"quoted.org\",2\nz\n").unwrap();
    let mut s = spec(&path);
    s.format = Some(Format::Csv);
    s.column = Some("2".parse().unwrap());
    let r = run_ok(vec![s.clone()], StreamOptions::default());
    let got: Vec<&str> = r.domains.iter().map(|d| d.domain.as_str()).collect();
    assert_eq!(got, ["example.org", "quoted.org"]);
    assert_eq!(r.rejections[0].reason, RejectReason::MissingColumn);
    s.column = Some("site".parse().unwrap());
    let r = run(vec![s], StreamOptions::default());
    let msg = r.error.unwrap().to_string();
    assert!(msg.contains("no column `site`"), "{msg}");
}

proptest::proptest! {
    /// Whatever bytes surround them, valid lines are never lost.
    #[test]
    fn valid_lines_survive_garbage(garbage in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        let mut want = Vec::new();
        for (i, g) in garbage.iter().enumerate() {
            let clean: Vec<u8> = g.iter().copied().filter(|&b| b != b'\n').collect();
            bytes.extend_from_slice(&clean);
            bytes.push(b'\n');
            let name = format!("valid{i}.example");
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(if i % 2 == 0 { b"\r\n" } else { b"\n" });
            want.push(name);
        }
        let path = dir.path().join("g.txt");
        std::fs::write(&path, &bytes).unwrap();
        let mut s = spec(&path);
        s.format = Some(Format::Plain);
        let r = run_ok(vec![s], StreamOptions::default());
        for w in &want {
            proptest::prop_assert!(r.domains.iter().any(|d| &d.domain == w), "lost {}", w);
        }
        assert_accounting(&r.stats);
    }
}

/// A zone with hostile lines between valid delegations: every delegation
/// survives, every bad entry is a rejection on its own line.
#[test]
fn hostile_zone_keeps_every_delegation() {
    let dir = tempfile::tempdir().unwrap();
    let mut z = Vec::new();
    z.extend_from_slice(b"\xEF\xBB\xBF$ORIGIN example.\r\n"); // 1
    z.extend_from_slice(b"@ IN SOA ns hm ( 1 2 3\r\n 4 5 )\n"); // 2-3
    z.extend_from_slice(b"a IN NS ns.a ; comment \xff\xfe\n"); // 4 bad bytes in a comment only
    z.extend_from_slice(b"b\xff IN NS ns.b\n"); // 5 invalid UTF-8 owner
    z.extend_from_slice(b"c\x00 IN NS ns.c\r\n"); // 6 NUL in owner
    z.extend(std::iter::repeat_n(b'x', 1024 * 1024)); // 7 1 MB line
    z.extend_from_slice(b"\n");
    z.extend_from_slice(b"d 60 IN NS ns.d\n"); // 8
    z.extend_from_slice(b"\n"); // 9
    z.extend_from_slice(b"e TXT \"; ( not syntax\" \n"); // 10
    z.extend_from_slice(b"f IN NS ns.f"); // 11, no final newline
    let path = dir.path().join("hostile.zone");
    std::fs::write(&path, &z).unwrap();
    let r = run_ok(vec![spec(&path)], StreamOptions::default());
    let got: Vec<(&str, u64)> = r
        .domains
        .iter()
        .map(|d| (d.domain.as_str(), d.line))
        .collect();
    assert_eq!(got, [("a.example", 4), ("d.example", 8), ("f.example", 11)]);
    let rejects: Vec<(u64, RejectReason)> =
        r.rejections.iter().map(|x| (x.line, x.reason)).collect();
    assert_eq!(
        rejects,
        [
            (5, RejectReason::InvalidUtf8),
            (6, RejectReason::InvalidCharacter),
            (7, RejectReason::LineTooLong),
        ]
    );
    assert_eq!(r.stats.sources[0].format, Some(Format::Zone));
    assert_eq!(r.stats.sources[0].lines, 11);
    assert_accounting(&r.stats);
}
