//! Tests for the `tlsrpt` module. No external TLS-RPT suite is in
//! `../shared/data`; the cases are the RFC 8460 §3.1 examples, the ABNF
//! boundaries, and property tests.

// Helpers outside #[test] fns load fixtures; a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authcensus_records::dns::{DnsFailure, Lookup, MemoryResolver, Resolver, TxtRecord};
use authcensus_records::tlsrpt::{self, RuaScheme, TlsRptStatus, classify, parse, parse_record};
use futures::executor::block_on;
use proptest::prelude::*;

#[test]
fn rfc8460_examples_via_resolver() {
    let mut r = MemoryResolver::new();
    // §3.1.1 and §3.1.2; the second split over two strings as in the RFC.
    r.add_txt(
        "_smtp._tls.mail.example",
        TxtRecord::single("v=TLSRPTv1;rua=mailto:reports@example.com"),
    );
    r.add_txt(
        "_smtp._tls.https.example",
        TxtRecord::from_strings([
            "v=TLSRPTv1; ",
            "rua=https://reporting.example.com/v1/tlsrpt",
        ]),
    );
    r.add_cname("_smtp._tls.alias.example", "_smtp._tls.mail.example");
    r.fail(
        "_smtp._tls.broken.example",
        authcensus_records::dns::RecordType::Txt,
        DnsFailure::Timeout,
    );
    let get = |n: &str| classify(&block_on(r.txt(&format!("_smtp._tls.{n}"))));
    let a = get("mail.example");
    assert_eq!(a.status, TlsRptStatus::Valid);
    assert_eq!(a.record.unwrap().rua[0].scheme, RuaScheme::Mailto);
    let a = get("https.example");
    assert_eq!(
        a.record.unwrap().rua[0].uri,
        "https://reporting.example.com/v1/tlsrpt"
    );
    assert_eq!(get("alias.example").status, TlsRptStatus::Valid);
    assert_eq!(get("none.example").status.label(), "none");
    assert_eq!(get("broken.example").status.label(), "dns_error");
}

/// ABNF boundaries (RFC 8460 §3), each with the exact first fatal code.
#[test]
fn abnf_boundaries() {
    let cases: &[(&str, Option<&str>)] = &[
        ("v=TLSRPTv1; rua=mailto:a@example.com;", None),
        ("v=TLSRPTv1 ;\trua=mailto:a@example.com", None),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com ,\thttps://r.example/x",
            None,
        ),
        ("v=TLSRPTv1; rua=mailto:a@example.com; ext.v-1_x=val", None),
        ("v=TLSRPTv1; rua=mailto:a%21b@example.com", None),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com;;",
            Some("empty_field"),
        ),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com; ext=",
            Some("invalid_extension_value"),
        ),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com; _x=1",
            Some("invalid_extension_name"),
        ),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com; junk",
            Some("missing_equals"),
        ),
        ("v=TLSRPTv1; RUA=mailto:a@example.com", Some("missing_rua")),
        (
            "V=TLSRPTv1; rua=mailto:a@example.com",
            Some("missing_version"),
        ),
        ("v=TLSRPTv1; rua=example.com", Some("invalid_rua_uri")),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com!10m",
            Some("invalid_rua_uri"),
        ),
        (
            "v=TLSRPTv1; rua=ftp://r.example/",
            Some("unsupported_rua_scheme"),
        ),
        ("v=TLSRPTv1; rua=https://", Some("invalid_https")),
        (
            "v=TLSRPTv1; rua=mailto:@example.com",
            Some("invalid_mailto"),
        ),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com\u{e9}",
            Some("non_ascii"),
        ),
    ];
    for (text, expect) in cases {
        let got = parse_record(text.as_bytes()).err().map(|e| e.code.code());
        assert_eq!(got, *expect, "{text}");
    }
}

#[test]
fn selection_among_txt_records() {
    let set = |v: &[&str]| Lookup::Records(v.iter().map(|s| TxtRecord::single(*s)).collect());
    let a = classify(&set(&[
        "google-site-verification=x",
        "v=TLSRPTv1; rua=mailto:a@b.example",
    ]));
    assert_eq!(a.status, TlsRptStatus::Valid);
    let a = classify(&set(&[
        "v=TLSRPTv1; rua=mailto:a@b.example",
        "v=TLSRPTv1; rua=mailto:c@d.example",
    ]));
    assert_eq!(a.findings[0].code.code(), "multiple_records");
    // A lone record that does not begin with v=TLSRPTv1 is reported with its
    // syntax finding rather than as absent.
    let a = classify(&set(&["rua=mailto:a@b.example; v=TLSRPTv1"]));
    assert_eq!(
        (a.status.label(), a.findings[0].code.code()),
        ("invalid", "missing_version")
    );
    assert!(!tlsrpt::starts_with_tlsrpt_version(b"v=TLSRPTv10;"));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let p = parse(&bytes);
        prop_assert_eq!(p.record.is_some(), !p.findings.iter().any(|f| f.fatal));
        let _ = classify(&Lookup::Records(vec![TxtRecord::single(bytes.clone()), TxtRecord::single(bytes)]));
    }

    #[test]
    fn record_like_text_never_panics(s in "v=TLSRPTv1[; ]{0,3}(rua|x)=[ -~]{0,40}(;[ ]?[a-z]{1,4}=[!-~]{0,10}){0,4}") {
        let _ = parse(s.as_bytes());
    }

    #[test]
    fn display_round_trip(
        users in proptest::collection::vec("[a-z0-9.]{1,10}", 1..4),
        ext in proptest::collection::vec(("[a-z][a-z0-9_.-]{0,10}", "[!-:<>-~]{1,10}"), 0..3),
    ) {
        let rua: Vec<String> = users.iter().map(|u| format!("mailto:{u}@example.com")).collect();
        let mut text = format!("v=TLSRPTv1; rua={}", rua.join(" , "));
        for (n, v) in &ext {
            text.push_str(&format!("; {n}={v}"));
        }
        let rec = parse_record(text.as_bytes()).unwrap();
        prop_assert_eq!(rec.rua.len(), users.len());
        prop_assert_eq!(parse_record(rec.to_string().as_bytes()).unwrap(), rec);
    }
}
