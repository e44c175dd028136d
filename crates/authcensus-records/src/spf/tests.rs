//! Boundary tests of the SPF analysis and `check_host()` (RFC 7208 §4.6.4,
//! §4.5, §6.1) over the in-memory resolver.

use std::net::IpAddr;

use futures::executor::block_on;

use super::*;
use crate::dns::{DnsFailure, MemoryResolver, RecordType, TxtRecord};

fn zone(records: &[(&str, &str)]) -> MemoryResolver {
    let mut r = MemoryResolver::new();
    for (name, txt) in records {
        r.add_txt(name, TxtRecord::single(*txt));
    }
    r
}

fn analyse(r: &MemoryResolver, domain: &str) -> SpfAnalysis {
    block_on(analyze(r, domain, &Limits::default()))
}

fn check(r: &MemoryResolver, ip: &str, domain: &str) -> SpfVerdict {
    let ip: IpAddr = ip.parse().unwrap();
    let params = CheckHostParams::mail_from(ip, &format!("user@{domain}"), "helo.example");
    block_on(check_host(r, &params, &Limits::default()))
}

/// `v=spf1 a:h1.example … a:hN.example -all` with every host resolving.
fn n_lookups(n: usize) -> MemoryResolver {
    let terms: Vec<String> = (1..=n).map(|i| format!("a:h{i}.example")).collect();
    let mut r = zone(&[]);
    r.add_txt(
        "example.com",
        TxtRecord::single(format!("v=spf1 {} -all", terms.join(" "))),
    );
    for i in 1..=n {
        r.add_a(&format!("h{i}.example"), [192, 0, 2, 10].into());
    }
    r
}

#[test]
fn ten_lookups_valid_eleven_permerror() {
    let r10 = n_lookups(10);
    let a = analyse(&r10, "example.com");
    assert_eq!((a.status, a.dns_lookups), (AnalysisStatus::Valid, 10));
    assert!(!a.has(FindingCode::TooManyLookups));
    assert_eq!(
        check(&r10, "192.0.2.99", "example.com").result,
        SpfResult::Fail
    );

    let r11 = n_lookups(11);
    let a = analyse(&r11, "example.com");
    assert_eq!((a.status, a.dns_lookups), (AnalysisStatus::PermError, 11));
    assert_eq!(a.codes(), ["too_many_lookups"]);
    let v = check(&r11, "192.0.2.99", "example.com");
    assert_eq!(
        (v.result, v.reason, v.dns_terms),
        (SpfResult::PermError, Some("too_many_lookups"), 11)
    );
    // A match before the 11th term ends evaluation first (limits apply as evaluated).
    assert_eq!(
        check(&r11, "192.0.2.10", "example.com").result,
        SpfResult::Pass
    );
}

#[test]
fn lookups_are_totalled_across_includes_and_redirect() {
    let r = zone(&[
        (
            "example.com",
            "v=spf1 include:a.example mx redirect=r.example",
        ),
        (
            "a.example",
            "v=spf1 a:x.example a:y.example exists:z.example ?all",
        ),
        ("r.example", "v=spf1 include:a.example ~all"),
    ]);
    let a = analyse(&r, "example.com");
    // root: include + mx + redirect = 3; a.example twice: 2 × 3; r.example: include = 1.
    assert_eq!(a.dns_lookups, 3 + 3 + 1 + 3);
    assert_eq!(a.effective_all, Some(Qualifier::SoftFail));
    // mx on example.com (NXDOMAIN for MX: name has only TXT → NODATA), x, y, z void:
    // 1 + (3 per visit × 2 visits) = 7 void lookups.
    assert_eq!(a.void_lookups, 7);
    assert!(a.has(FindingCode::TooManyVoidLookups));
    // a.example's TXT was fetched once although walked twice.
    let txt_queries = r
        .query_log()
        .iter()
        .filter(|(n, t)| n == "a.example" && *t == RecordType::Txt)
        .count();
    assert_eq!(txt_queries, 1);
    assert_eq!(a.records.len(), 4);
}

fn n_voids(n: usize) -> MemoryResolver {
    let terms: Vec<String> = (1..=n).map(|i| format!("a:void{i}.example")).collect();
    let mut r = zone(&[]);
    r.add_txt(
        "example.com",
        TxtRecord::single(format!("v=spf1 {} ip4:192.0.2.1 -all", terms.join(" "))),
    );
    r
}

#[test]
fn two_void_lookups_valid_three_permerror() {
    let r2 = n_voids(2);
    let a = analyse(&r2, "example.com");
    assert_eq!((a.status, a.void_lookups), (AnalysisStatus::Valid, 2));
    assert_eq!(
        check(&r2, "192.0.2.1", "example.com").result,
        SpfResult::Pass
    );

    let r3 = n_voids(3);
    let a = analyse(&r3, "example.com");
    assert_eq!((a.status, a.void_lookups), (AnalysisStatus::PermError, 3));
    assert_eq!(a.codes(), ["too_many_void_lookups"]);
    let v = check(&r3, "192.0.2.1", "example.com");
    assert_eq!(
        (v.result, v.reason, v.void_lookups),
        (SpfResult::PermError, Some("too_many_void_lookups"), 3)
    );
    // A name with only AAAA records is not void for the static analysis.
    let mut r = n_voids(3);
    r.add_aaaa("void3.example", "2001:db8::1".parse().unwrap());
    assert_eq!(analyse(&r, "example.com").void_lookups, 2);
}

#[test]
fn include_loop() {
    let r = zone(&[
        ("a.example", "v=spf1 include:b.example -all"),
        ("b.example", "v=spf1 include:a.example -all"),
    ]);
    let a = analyse(&r, "a.example");
    assert_eq!(a.status, AnalysisStatus::PermError);
    assert_eq!(a.codes(), ["include_loop"]);
    assert_eq!(a.findings[0].domain, "b.example");
    let v = check(&r, "192.0.2.1", "a.example");
    assert_eq!(
        (v.result, v.reason),
        (SpfResult::PermError, Some("too_many_lookups"))
    );
    // Self-redirect.
    let r = zone(&[("a.example", "v=spf1 redirect=a.example")]);
    assert_eq!(analyse(&r, "a.example").codes(), ["redirect_loop"]);
    assert_eq!(
        check(&r, "192.0.2.1", "a.example").result,
        SpfResult::PermError
    );
}

#[test]
fn redirect_with_and_without_all() {
    let r = zone(&[
        ("with.example", "v=spf1 -all redirect=target.example"),
        (
            "without.example",
            "v=spf1 ip4:192.0.2.1 redirect=target.example",
        ),
        ("target.example", "v=spf1 ~all"),
        ("broken.example", "v=spf1 redirect=missing.example"),
    ]);
    let a = analyse(&r, "with.example");
    assert_eq!(
        (a.status, a.effective_all, a.dns_lookups),
        (AnalysisStatus::Valid, Some(Qualifier::Fail), 0)
    );
    assert_eq!(a.codes(), ["redirect_ignored_with_all"]);
    assert_eq!(a.records.len(), 1);
    assert_eq!(
        check(&r, "192.0.2.9", "with.example").result,
        SpfResult::Fail
    );

    let a = analyse(&r, "without.example");
    assert_eq!(
        (a.status, a.effective_all, a.dns_lookups),
        (AnalysisStatus::Valid, Some(Qualifier::SoftFail), 1)
    );
    assert!(a.findings.is_empty());
    assert_eq!(
        check(&r, "192.0.2.9", "without.example").result,
        SpfResult::SoftFail
    );
    assert_eq!(
        check(&r, "192.0.2.1", "without.example").result,
        SpfResult::Pass
    );

    let a = analyse(&r, "broken.example");
    assert_eq!(a.codes(), ["missing_redirect_target"]);
    assert_eq!(a.status, AnalysisStatus::PermError);
    let v = check(&r, "192.0.2.9", "broken.example");
    assert_eq!(
        (v.result, v.reason),
        (SpfResult::PermError, Some("missing_redirect_target"))
    );
}

#[test]
fn multiple_records_and_split_strings() {
    let mut r = zone(&[("m.example", "v=spf1 -all"), ("m.example", "v=spf1 +all")]);
    r.add_txt("m.example", TxtRecord::single("google-site-verification=x"));
    let a = analyse(&r, "m.example");
    assert_eq!(
        (a.status, a.codes()),
        (AnalysisStatus::PermError, vec!["multiple_records"])
    );
    assert_eq!(a.record_text, None);
    let v = check(&r, "192.0.2.1", "m.example");
    assert_eq!(
        (v.result, v.reason),
        (SpfResult::PermError, Some("multiple_records"))
    );

    let mut r = MemoryResolver::new();
    r.add_txt(
        "s.example",
        TxtRecord::from_strings(["v=spf1 ip4:192.0.2.1", " ip4:192.0.2.2 -all"]),
    );
    r.add_txt("s.example", TxtRecord::single("v=spf10 other"));
    let a = analyse(&r, "s.example");
    assert_eq!(a.status, AnalysisStatus::Valid);
    assert_eq!(
        a.record_text.as_deref(),
        Some("v=spf1 ip4:192.0.2.1 ip4:192.0.2.2 -all")
    );
    assert_eq!(check(&r, "192.0.2.2", "s.example").result, SpfResult::Pass);
    assert_eq!(check(&r, "192.0.2.3", "s.example").result, SpfResult::Fail);
}

#[test]
fn missing_include_target_macro_target_ptr_and_mx() {
    let mut r = zone(&[(
        "example.com",
        "v=spf1 include:nothing.example include:%{d}.x.example ptr mx:many.example exists:%{i}.bl.example ?all",
    )]);
    for i in 0..11 {
        r.add_mx("many.example", i, &format!("mx{i}.example"));
    }
    let a = analyse(&r, "example.com");
    assert_eq!(
        a.codes(),
        [
            "missing_include_target",
            "macro_target_unexpanded",
            "ptr_deprecated",
            "too_many_mx"
        ]
    );
    // exists:%{i}… counts but is not a finding (macros are its normal use).
    assert_eq!((a.status, a.dns_lookups), (AnalysisStatus::PermError, 5));
    assert_eq!(a.effective_all, Some(Qualifier::Neutral));
}

#[test]
fn root_syntax_error_is_reported_with_kind() {
    let r = zone(&[("example.com", "v=spf1 ip4:192.0.2.1/33 -all")]);
    let a = analyse(&r, "example.com");
    assert_eq!(
        (a.status, a.codes()),
        (AnalysisStatus::PermError, vec!["syntax"])
    );
    assert_eq!(a.syntax_error_code, Some("invalid_cidr"));
    assert_eq!(a.syntax_error.as_ref().map(|e| e.offset), Some(7));
    assert_eq!(
        a.record_text.as_deref(),
        Some("v=spf1 ip4:192.0.2.1/33 -all")
    );
    let v = check(&r, "192.0.2.1", "example.com");
    assert_eq!((v.result, v.reason), (SpfResult::PermError, Some("syntax")));
}

#[test]
fn temperror_and_none() {
    let mut r = zone(&[("example.com", "v=spf1 include:t.example -all")]);
    r.fail("t.example", RecordType::Txt, DnsFailure::Timeout);
    let a = analyse(&r, "example.com");
    assert_eq!(
        (a.status, a.codes()),
        (AnalysisStatus::TempError, vec!["temperror_lookup"])
    );
    assert_eq!(
        check(&r, "192.0.2.1", "example.com").result,
        SpfResult::TempError
    );
    let a = analyse(&r, "nothing.example");
    assert_eq!((a.status, a.findings.len()), (AnalysisStatus::None, 0));
    assert_eq!(
        check(&r, "192.0.2.1", "nothing.example").result,
        SpfResult::None
    );
    assert_eq!(analyse(&r, "single-label").status, AnalysisStatus::None);
}

#[test]
fn hostile_trees_are_bounded() {
    // A chain deeper than the depth bound.
    let mut r = MemoryResolver::new();
    for i in 0..40 {
        r.add_txt(
            &format!("d{i}.example"),
            TxtRecord::single(format!("v=spf1 include:d{}.example -all", i + 1)),
        );
    }
    let a = analyse(&r, "d0.example");
    assert!(a.has(FindingCode::RecursionTooDeep));
    assert!(!a.complete);
    assert_eq!(a.status, AnalysisStatus::PermError);
    assert!(a.queries <= Limits::default().max_analysis_queries);

    // A wide tree: 30 distinct includes each with 30 distinct includes.
    let mut r = MemoryResolver::new();
    let top: Vec<String> = (0..30).map(|i| format!("include:w{i}.example")).collect();
    r.add_txt(
        "wide.example",
        TxtRecord::single(format!("v=spf1 {} -all", top.join(" "))),
    );
    for i in 0..30 {
        let sub: Vec<String> = (0..30)
            .map(|j| format!("include:w{i}-{j}.example"))
            .collect();
        r.add_txt(
            &format!("w{i}.example"),
            TxtRecord::single(format!("v=spf1 {} -all", sub.join(" "))),
        );
    }
    let a = analyse(&r, "wide.example");
    assert!(a.has(FindingCode::WorkBudgetExhausted));
    assert!(a.has(FindingCode::TooManyLookups));
    assert_eq!(a.queries, Limits::default().max_analysis_queries);
    assert!(r.query_count() <= u64::from(Limits::default().max_analysis_queries));
    let v = check(&r, "192.0.2.1", "wide.example");
    assert_eq!(v.result, SpfResult::PermError);
    assert!(v.queries <= 12);
}

#[test]
fn check_host_details() {
    let mut r = zone(&[
        ("example.com", "v=spf1 a/24 mx//64 -all exp=exp.example.com"),
        (
            "exp.example.com",
            "%{i} is not allowed to send for %{d} (%{l}@%{o})",
        ),
        ("p.example", "v=spf1 -all exp=pexp.example"),
        ("pexp.example", "from %{p}"),
    ]);
    r.add_a("example.com", [192, 0, 2, 10].into());
    r.add_mx("example.com", 10, "mx.example.com");
    r.add_aaaa("mx.example.com", "2001:db8::1".parse().unwrap());
    r.add_ptr("198.51.100.7".parse().unwrap(), "host.p.example");
    r.add_a("host.p.example", [198, 51, 100, 7].into());
    assert_eq!(
        check(&r, "192.0.2.200", "example.com").result,
        SpfResult::Pass
    );
    // IPv4-mapped IPv6 clients are evaluated as IPv4 (§5).
    assert_eq!(
        check(&r, "::ffff:192.0.2.200", "example.com").result,
        SpfResult::Pass
    );
    assert_eq!(
        check(&r, "2001:db8::ffff", "example.com").result,
        SpfResult::Pass
    );
    let v = check(&r, "192.0.3.1", "example.com");
    assert_eq!(v.result, SpfResult::Fail);
    assert_eq!(
        v.explanation.as_deref(),
        Some("192.0.3.1 is not allowed to send for example.com (user@example.com)")
    );
    let v = check(&r, "198.51.100.7", "p.example");
    assert_eq!(v.explanation.as_deref(), Some("from host.p.example"));
    // §4.3: a label over 63 octets → none.
    let long = format!("{}.example", "a".repeat(64));
    assert_eq!(check(&r, "192.0.2.1", &long).result, SpfResult::None);
}
