//! Unit tests of the dmarc module: table-driven parsing in both modes,
//! discovery over a [`MemoryResolver`], external destinations, proptests.

use super::*;
use crate::dns::{DnsFailure, Lookup, MemoryResolver, RecordType, TxtRecord};
use futures::executor::block_on;
use proptest::prelude::*;

use Verdict::{Invalid, NotDmarc, TreatedAsNone, Valid};

fn codes(text: &str, mode: Mode) -> (Verdict, Vec<&'static str>) {
    let p = parse(text.as_bytes(), mode);
    (p.verdict, p.codes())
}

/// (record, RFC 9989 verdict, RFC 9989 codes, RFC 7489 verdict, RFC 7489 codes)
type Case = (
    &'static str,
    Verdict,
    &'static [&'static str],
    Verdict,
    &'static [&'static str],
);

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Version and framing.
    ("", NotDmarc, &["empty_record"], NotDmarc, &["empty_record"]),
    ("   ", NotDmarc, &["empty_record"], NotDmarc, &["empty_record"]),
    ("v=", NotDmarc, &["invalid_version"], NotDmarc, &["invalid_version"]),
    ("v=DMARC12", NotDmarc, &["invalid_version"], NotDmarc, &["invalid_version"]),
    ("v=dmarc1; p=none", NotDmarc, &["invalid_version"], NotDmarc, &["invalid_version"]),
    ("v=DMARC1 p=none", NotDmarc, &["invalid_version"], NotDmarc, &["invalid_version"]),
    ("p=none; v=DMARC1", NotDmarc, &["missing_version"], NotDmarc, &["missing_version"]),
    ("v=spf1 -all", NotDmarc, &["invalid_version"], NotDmarc, &["invalid_version"]),
    ("spf1 -all", NotDmarc, &["missing_version"], NotDmarc, &["missing_version"]),
    (";v=DMARC1; p=none", NotDmarc, &["missing_version"], NotDmarc, &["missing_version"]),
    ("v=DMARC1", Valid, &["missing_policy"], Invalid, &["missing_separator", "missing_policy"]),
    ("v=DMARC1;", Valid, &["missing_policy"], Invalid, &["missing_policy"]),
    ("v=DMARC1; p=none", Valid, &[], Valid, &[]),
    ("v=DMARC1; p=none;", Valid, &[], Valid, &[]),
    ("v=DMARC1; p=none; ", Valid, &[], Valid, &[]),
    ("V = DMARC1 ; P = Reject", Valid, &[], Valid, &[]),
    ("v=DMARC1;\tp=none\t;\trua=mailto:a@example.com", Valid, &[], Valid, &[]),
    ("  v=DMARC1; p=none", Valid, &["leading_whitespace"], Valid, &["leading_whitespace"]),
    ("v=DMARC1;;p=none", Valid, &["empty_tag"], Valid, &["empty_tag"]),
    ("v=DMARC1; ; p=none", Valid, &["empty_tag"], Valid, &["empty_tag"]),
    ("v=DMARC1; p=none; foo", Valid, &["malformed_tag"], Valid, &["malformed_tag"]),
    ("v=DMARC1; p=none; p-x=1", Valid, &["malformed_tag"], Valid, &["malformed_tag"]),
    ("v=DMARC1; p=none; =1", Valid, &["malformed_tag"], Valid, &["malformed_tag"]),
    ("v=DMARC1; p=none; x=", Valid, &["unknown_tag", "empty_value"], Valid, &["unknown_tag", "empty_value"]),
    ("v=DMARC1; p=none; x=a\u{1}b", Valid, &["unknown_tag", "invalid_character"], Valid, &["unknown_tag", "invalid_character"]),
    ("v=DMARC1; p=none; future=yes", Valid, &["unknown_tag"], Valid, &["unknown_tag"]),
    // Duplicates: the whole tag-list is invalid (RFC 6376 §3.2).
    ("v=DMARC1; p=none; p=none", Invalid, &["duplicate_tag"], Invalid, &["duplicate_tag"]),
    ("v=DMARC1; p=none; P=reject", Invalid, &["duplicate_tag"], Invalid, &["duplicate_tag"]),
    ("v=DMARC1; v=DMARC1; p=none", Invalid, &["duplicate_tag"], Invalid, &["duplicate_tag", "p_not_second"]),
    ("v=DMARC1; p=none; rua=mailto:a@example.com; rua=mailto:b@example.com", Invalid, &["duplicate_tag"], Invalid, &["duplicate_tag"]),
    // p, sp, np.
    ("v=DMARC1; p=quarantine", Valid, &[], Valid, &[]),
    ("v=DMARC1; p=REJECT", Valid, &[], Valid, &[]),
    ("v=DMARC1; p=rejected", Invalid, &["invalid_policy"], Invalid, &["invalid_policy"]),
    ("v=DMARC1; p=", Invalid, &["invalid_policy"], Invalid, &["invalid_policy"]),
    ("v=DMARC1; p=rejected; rua=mailto:a@example.com", TreatedAsNone, &["invalid_policy"], TreatedAsNone, &["invalid_policy"]),
    ("v=DMARC1; sp=none; p=reject", Valid, &[], Invalid, &["p_not_second"]),
    ("v=DMARC1; sp=none; p=reject; rua=mailto:a@example.com", Valid, &[], TreatedAsNone, &["p_not_second"]),
    ("v=DMARC1; p=none; sp=bogus", Invalid, &["invalid_subdomain_policy"], Invalid, &["invalid_subdomain_policy"]),
    ("v=DMARC1; p=none; sp=bogus; rua=mailto:a@example.com", TreatedAsNone, &["invalid_subdomain_policy"], TreatedAsNone, &["invalid_subdomain_policy"]),
    ("v=DMARC1; p=none; np=reject", Valid, &[], Valid, &["unknown_tag"]),
    ("v=DMARC1; p=none; np=bogus", Invalid, &["invalid_nonexistent_policy"], Valid, &["unknown_tag", "invalid_nonexistent_policy"]),
    ("v=DMARC1; rua=mailto:a@example.com", Valid, &["missing_policy"], TreatedAsNone, &["missing_policy"]),
    // Alignment.
    ("v=DMARC1; p=none; adkim=s; aspf=R", Valid, &[], Valid, &[]),
    ("v=DMARC1; p=none; adkim=x", Valid, &["invalid_adkim"], Valid, &["invalid_adkim"]),
    ("v=DMARC1; p=none; aspf=strict", Valid, &["invalid_aspf"], Valid, &["invalid_aspf"]),
    // pct, ri, rf: RFC 7489 tags, historic in RFC 9989.
    ("v=DMARC1; p=none; pct=50", Valid, &["historic_tag"], Valid, &[]),
    ("v=DMARC1; p=none; pct=100", Valid, &["historic_tag"], Valid, &[]),
    ("v=DMARC1; p=none; pct=101", Valid, &["historic_tag", "invalid_pct"], Valid, &["invalid_pct"]),
    ("v=DMARC1; p=none; pct=0100", Valid, &["historic_tag", "invalid_pct"], Valid, &["invalid_pct"]),
    ("v=DMARC1; p=none; pct=-1", Valid, &["historic_tag", "invalid_pct"], Valid, &["invalid_pct"]),
    ("v=DMARC1; p=none; ri=4294967295", Valid, &["historic_tag"], Valid, &[]),
    ("v=DMARC1; p=none; ri=4294967296", Valid, &["historic_tag", "invalid_ri"], Valid, &["invalid_ri"]),
    ("v=DMARC1; p=none; ri=+5", Valid, &["historic_tag", "invalid_ri"], Valid, &["invalid_ri"]),
    ("v=DMARC1; p=none; rf=afrf", Valid, &["historic_tag"], Valid, &[]),
    ("v=DMARC1; p=none; rf=AFRF:iodef", Valid, &["historic_tag", "unregistered_report_format"], Valid, &["unregistered_report_format"]),
    ("v=DMARC1; p=none; rf=-x", Valid, &["historic_tag", "invalid_rf"], Valid, &["invalid_rf"]),
    ("v=DMARC1; p=none; rf=afrf:", Valid, &["historic_tag", "invalid_rf"], Valid, &["invalid_rf"]),
    // fo.
    ("v=DMARC1; p=none; fo=1", Valid, &["fo_without_ruf"], Valid, &["fo_without_ruf"]),
    ("v=DMARC1; p=none; fo=0:d:s; ruf=mailto:f@example.com", Valid, &[], Valid, &[]),
    ("v=DMARC1; p=none; fo=0:1:d:s; ruf=mailto:f@example.com", Valid, &["invalid_fo"], Valid, &[]),
    ("v=DMARC1; p=none; fo=d:d; ruf=mailto:f@example.com", Valid, &["invalid_fo"], Valid, &[]),
    ("v=DMARC1; p=none; fo=d : s; ruf=mailto:f@example.com", Valid, &["invalid_fo"], Valid, &[]),
    ("v=DMARC1; p=none; fo=01; ruf=mailto:f@example.com", Valid, &["invalid_fo"], Valid, &["invalid_fo"]),
    ("v=DMARC1; p=none; fo=x; ruf=mailto:f@example.com", Valid, &["invalid_fo"], Valid, &["invalid_fo"]),
    // psd and t: RFC 9989 tags, unknown to RFC 7489.
    ("v=DMARC1; p=none; psd=y", Valid, &[], Valid, &["unknown_tag"]),
    ("v=DMARC1; p=none; psd=x", Valid, &["invalid_psd"], Valid, &["unknown_tag", "invalid_psd"]),
    ("v=DMARC1; p=reject; t=y", Valid, &[], Valid, &["unknown_tag"]),
    ("v=DMARC1; p=reject; t=yes", Valid, &["invalid_t"], Valid, &["unknown_tag", "invalid_t"]),
    // URIs and sizes.
    ("v=DMARC1; p=none; rua=mailto:a@example.com!10m", Valid, &["obsolete_size_limit"], Valid, &[]),
    ("v=DMARC1; p=none; rua=mailto:a@example.com!10", Valid, &["obsolete_size_limit"], Valid, &[]),
    ("v=DMARC1; p=none; rua=mailto:a@example.com!10x", Valid, &["invalid_uri_size"], Valid, &["invalid_uri_size"]),
    ("v=DMARC1; p=none; rua=mailto:a@example.com!m", Valid, &["invalid_uri_size"], Valid, &["invalid_uri_size"]),
    ("v=DMARC1; p=none; rua=mailto:a@example.com!1!2", Valid, &["invalid_uri_size"], Valid, &["invalid_uri_size"]),
    ("v=DMARC1; p=none; rua=mailto:a,b@example.com", Valid, &["invalid_uri", "invalid_uri"], Valid, &["invalid_uri", "invalid_uri"]),
    ("v=DMARC1; p=none; rua=mailto:a%2Cb@example.com", Valid, &[], Valid, &[]),
    ("v=DMARC1; p=none; rua=mailto:a%2@example.com", Valid, &["invalid_uri"], Valid, &["invalid_uri"]),
    ("v=DMARC1; p=none; rua=mailto:a@example.com,,mailto:b@example.com", Valid, &["invalid_uri"], Valid, &["invalid_uri"]),
    ("v=DMARC1; p=none; rua=mailto:a b@example.com", Valid, &["invalid_uri"], Valid, &["invalid_uri"]),
    ("v=DMARC1; p=none; rua=https://reports.example.com/dmarc", Valid, &[], Valid, &[]),
    ("v=DMARC1; p=none; rua=example.com", Valid, &["invalid_uri"], Valid, &["invalid_uri"]),
    ("v=DMARC1; p=none; rua=mailto:", Valid, &["invalid_uri"], Valid, &["invalid_uri"]),
    ("v=DMARC1; p=none; rua=1mailto:a@example.com", Valid, &["invalid_uri"], Valid, &["invalid_uri"]),
];

#[test]
fn parse_table_both_modes() {
    let mut failures = Vec::new();
    for &(text, v9, c9, v7, c7) in CASES {
        let got9 = codes(text, Mode::Rfc9989);
        let got7 = codes(text, Mode::Rfc7489);
        if got9 != (v9, c9.to_vec()) {
            failures.push(format!(
                "{text:?} rfc9989: expected {v9:?} {c9:?}, got {got9:?}"
            ));
        }
        if got7 != (v7, c7.to_vec()) {
            failures.push(format!(
                "{text:?} rfc7489: expected {v7:?} {c7:?}, got {got7:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn typed_values_are_recorded() {
    let text = "v=DMARC1; p=quarantine; sp=reject; np=none; rua=mailto:a@example.com!50m, https://r.example/x; \
                ruf=mailto:f@example.com!2; adkim=s; aspf=r; fo=1:d; rf=afrf; ri=3600; pct=20; psd=n; t=y; x-y=1; zz=Q";
    let p = parse(text.as_bytes(), Mode::Rfc9989);
    let r = p.record.as_ref().unwrap();
    assert_eq!(r.raw, text);
    assert_eq!(r.p, Some(Policy::Quarantine));
    assert_eq!(r.sp, Some(Policy::Reject));
    assert_eq!(r.np, Some(Policy::None));
    let rua = r.rua.as_ref().unwrap();
    assert_eq!(rua.len(), 2);
    assert_eq!(rua[0].uri, "mailto:a@example.com");
    assert_eq!(
        rua[0].size,
        Some(SizeLimit {
            value: 50,
            unit: Some(SizeUnit::Mega)
        })
    );
    assert_eq!(rua[0].size.unwrap().bytes(), Some(50 << 20));
    assert_eq!(rua[1].uri, "https://r.example/x");
    assert_eq!(rua[1].scheme(), "https");
    assert_eq!(r.ruf.as_ref().unwrap()[0].size.unwrap().bytes(), Some(2));
    assert_eq!(r.adkim, Some(Alignment::Strict));
    assert_eq!(r.aspf, Some(Alignment::Relaxed));
    assert_eq!(r.fo, Some(vec![FailureOption::Any, FailureOption::Dkim]));
    assert_eq!(r.rf, Some(vec!["afrf".to_string()]));
    assert_eq!(r.ri, Some(3600));
    assert_eq!(r.pct, Some(20));
    assert_eq!(r.psd, Some(PsdFlag::No));
    assert_eq!(r.t, Some(true));
    // "x-y" is not 1*ALPHA: malformed, not kept; "zz" is unknown and kept.
    assert_eq!(
        r.unknown,
        vec![Tag {
            name: "zz".into(),
            value: "Q".into()
        }]
    );
    assert_eq!(
        p.codes(),
        [
            "obsolete_size_limit",
            "obsolete_size_limit",
            "historic_tag",
            "historic_tag",
            "historic_tag",
            "malformed_tag",
            "unknown_tag"
        ]
    );
    assert!(p.testing());
    assert!(!parse(text.as_bytes(), Mode::Rfc7489).testing());
}

#[test]
fn findings_carry_offsets_and_tokens() {
    let text = "v=DMARC1; p=none; adkim=x; rua=bogus";
    let p = parse(text.as_bytes(), Mode::Rfc7489);
    let f = &p.findings[0];
    assert_eq!(
        (f.kind, f.severity, f.offset, f.token.as_str()),
        (FindingKind::InvalidAdkim, Severity::Error, 24, "x")
    );
    let f = &p.findings[1];
    assert_eq!(
        (f.code(), f.offset, f.token.as_str()),
        ("invalid_uri", 31, "bogus")
    );
    let err = p.into_result().unwrap_err();
    assert_eq!(err.kind, FindingKind::InvalidAdkim);
    assert_eq!(
        err.to_string(),
        "invalid DMARC record: invalid_adkim at byte 24: `x`"
    );
    let ok = parse(b"v=DMARC1; p=reject", Mode::Rfc7489)
        .into_result()
        .unwrap();
    assert_eq!(ok.p, Some(Policy::Reject));
    let e = parse(b"v=DMARC2; p=reject", Mode::Rfc9989)
        .into_result()
        .unwrap_err();
    assert_eq!(
        (e.kind, e.offset, e.token.as_str()),
        (FindingKind::InvalidVersion, 2, "DMARC2")
    );
}

#[test]
fn non_utf8_and_hostile_sizes() {
    let mut bytes = b"v=DMARC1; p=none; x=".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    let p = parse(&bytes, Mode::Rfc9989);
    assert_eq!(p.verdict, Valid);
    assert_eq!(p.codes(), ["unknown_tag", "invalid_character"]);
    assert_eq!(p.findings[1].offset, 20);

    let many = format!("v=DMARC1; p=none{}", "; x=1".repeat(100));
    let p = parse(many.as_bytes(), Mode::Rfc9989);
    assert!(p.has(FindingKind::TooManyTags));
    // The duplicates among the first MAX_TAGS segments are reported, the rest not examined.
    let dups = p
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::DuplicateTag)
        .count();
    assert_eq!(dups, MAX_TAGS - 3);

    let uris = vec!["mailto:a@example.com"; 40].join(",");
    let p = parse(
        format!("v=DMARC1; p=none; rua={uris}").as_bytes(),
        Mode::Rfc7489,
    );
    assert!(p.has(FindingKind::TooManyUris));
    assert_eq!(p.record.unwrap().rua.unwrap().len(), MAX_URIS);

    let huge = parse(
        b"v=DMARC1; p=none; rua=mailto:a@example.com!18446744073709551615t",
        Mode::Rfc7489,
    );
    let size = huge.record.unwrap().rua.unwrap()[0].size.unwrap();
    assert_eq!(size.value, u64::MAX);
    assert_eq!(size.bytes(), None);
    let over = parse(
        b"v=DMARC1; p=none; rua=mailto:a@example.com!18446744073709551616",
        Mode::Rfc7489,
    );
    assert_eq!(over.codes(), ["invalid_uri_size"]);
}

#[test]
fn effective_policy_with_sp_and_np() {
    let cases: &[(&str, Mode, [Option<Policy>; 3])] = &[
        // [domain itself, existing subdomain, non-existent subdomain]
        (
            "v=DMARC1; p=reject",
            Mode::Rfc9989,
            [Some(Policy::Reject); 3],
        ),
        (
            "v=DMARC1; p=reject; sp=quarantine",
            Mode::Rfc9989,
            [
                Some(Policy::Reject),
                Some(Policy::Quarantine),
                Some(Policy::Quarantine),
            ],
        ),
        (
            "v=DMARC1; p=reject; np=none",
            Mode::Rfc9989,
            [
                Some(Policy::Reject),
                Some(Policy::Reject),
                Some(Policy::None),
            ],
        ),
        (
            "v=DMARC1; p=none; sp=quarantine; np=reject",
            Mode::Rfc9989,
            [
                Some(Policy::None),
                Some(Policy::Quarantine),
                Some(Policy::Reject),
            ],
        ),
        (
            "v=DMARC1; p=none; sp=quarantine; np=reject",
            Mode::Rfc7489,
            [
                Some(Policy::None),
                Some(Policy::Quarantine),
                Some(Policy::Quarantine),
            ],
        ),
        (
            "v=DMARC1; sp=reject",
            Mode::Rfc9989,
            [
                Some(Policy::None),
                Some(Policy::Reject),
                Some(Policy::Reject),
            ],
        ),
        ("v=DMARC1; sp=reject", Mode::Rfc7489, [None, None, None]),
        (
            "v=DMARC1; p=reject; sp=bad; rua=mailto:a@example.com",
            Mode::Rfc7489,
            [Some(Policy::None); 3],
        ),
        (
            "v=DMARC1; p=reject; np=bad; rua=mailto:a@example.com",
            Mode::Rfc9989,
            [Some(Policy::None); 3],
        ),
        (
            "v=DMARC1; p=reject; p=none",
            Mode::Rfc9989,
            [None, None, None],
        ),
        ("v=DMARC2; p=reject", Mode::Rfc9989, [None, None, None]),
    ];
    for (text, mode, expected) in cases {
        let p = parse(text.as_bytes(), *mode);
        let got = [
            p.policy_for(true, true),
            p.policy_for(false, true),
            p.policy_for(false, false),
        ];
        assert_eq!(&got, expected, "{text} {mode:?}");
    }
    assert_eq!(Policy::Reject.downgraded(), Policy::Quarantine);
    assert_eq!(Policy::Quarantine.downgraded(), Policy::None);
    assert_eq!(Policy::None.downgraded(), Policy::None);
}

#[test]
fn disagreements_between_standards() {
    let c = parse_both(b"v=DMARC1;");
    let got: Vec<(&str, &str, &str)> = c
        .disagreements
        .iter()
        .map(|d| (d.aspect.label(), d.rfc9989.as_str(), d.rfc7489.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("verdict", "valid", "invalid"),
            ("policy", "none", "null"),
            ("subdomain_policy", "none", "null"),
            ("nonexistent_policy", "none", "null"),
            ("conformance", "true", "false"),
        ]
    );
    let c = parse_both(b"v=DMARC1; p=reject; sp=quarantine; np=none");
    assert_eq!(c.disagreements.len(), 1);
    assert_eq!(c.disagreements[0].aspect, Aspect::NonexistentPolicy);
    assert_eq!(
        (
            c.disagreements[0].rfc9989.as_str(),
            c.disagreements[0].rfc7489.as_str()
        ),
        ("none", "quarantine")
    );
    let c = parse_both(b"v=DMARC1; p=none; fo=0:1; ruf=mailto:a@example.com");
    assert_eq!(c.disagreements.len(), 1);
    assert_eq!(c.disagreements[0].aspect, Aspect::Conformance);
    assert!(
        parse_both(b"v=DMARC1; p=reject; rua=mailto:a@example.com")
            .disagreements
            .is_empty()
    );
}

#[test]
fn display_renders_canonical_form() {
    let p = parse(
        b"V=DMARC1;P=Reject;RUA=mailto:a@example.com!10M,mailto:b@example.com;ADKIM=S;Foo=Bar",
        Mode::Rfc9989,
    );
    let r = p.record.unwrap();
    assert_eq!(
        r.to_string(),
        "v=DMARC1; p=reject; rua=mailto:a@example.com!10m,mailto:b@example.com; adkim=s; foo=Bar"
    );
}

// ---- discovery ----

fn resolver(records: &[(&str, &[&str])]) -> MemoryResolver {
    let mut r = MemoryResolver::new();
    for (name, txts) in records {
        for t in *txts {
            r.add_txt(name, TxtRecord::single(*t));
        }
    }
    r
}

fn names(d: &DmarcDiscovery) -> Vec<&str> {
    d.queries.iter().map(|q| q.name.as_str()).collect()
}

fn last_two(name: &str) -> Option<String> {
    let labels: Vec<&str> = name.split('.').collect();
    (labels.len() >= 2).then(|| labels[labels.len() - 2..].join("."))
}

#[test]
fn rfc9989_found_at_domain() {
    let r = resolver(&[(
        "_dmarc.example.com",
        &["v=spf1 -all", "v=DMARC1; p=reject; sp=none"],
    )]);
    let d = block_on(discover_rfc9989(&r, "Example.COM.", true));
    assert_eq!(d.domain, "example.com");
    assert_eq!(d.status, DiscoveryStatus::Valid);
    assert_eq!(d.source, Some(PolicySource::Domain));
    assert_eq!(d.found_at.as_deref(), Some("example.com"));
    assert_eq!(
        d.record_text.as_deref(),
        Some("v=DMARC1; p=reject; sp=none")
    );
    assert_eq!(d.effective_policy, Some(Policy::Reject));
    assert_eq!(names(&d), ["_dmarc.example.com"]);
    assert_eq!(
        (d.queries[0].dmarc_records, d.queries[0].other_records),
        (1, 1)
    );
    assert_eq!(d.organizational_domain, None);
    assert_eq!(r.query_count(), 1);
}

#[test]
fn rfc9989_walks_to_the_organizational_domain() {
    let r = resolver(&[("_dmarc.example.com", &["v=DMARC1; p=reject; sp=quarantine"])]);
    let d = block_on(discover_rfc9989(&r, "mail.example.com", true));
    assert_eq!(d.status, DiscoveryStatus::Valid);
    assert_eq!(d.source, Some(PolicySource::Organizational));
    assert_eq!(d.found_at.as_deref(), Some("example.com"));
    assert_eq!(d.organizational_domain.as_deref(), Some("example.com"));
    assert_eq!(d.effective_policy, Some(Policy::Quarantine));
    // No psd tag: the walk goes on to the top-level label (§4.10 step 7).
    assert_eq!(
        names(&d),
        [
            "_dmarc.mail.example.com",
            "_dmarc.example.com",
            "_dmarc.com"
        ]
    );
    assert_eq!(d.queries[0].outcome, "nxdomain");

    let r = resolver(&[(
        "_dmarc.example.com",
        &["v=DMARC1; p=reject; sp=quarantine; np=none"],
    )]);
    let d = block_on(discover_rfc9989(&r, "ghost.example.com", false));
    assert_eq!(d.effective_policy, Some(Policy::None));
    let d = block_on(discover_rfc9989(&r, "ghost.example.com", true));
    assert_eq!(d.effective_policy, Some(Policy::Quarantine));
}

/// Whether the domain exists changes no query, only the `sp`/`np` choice:
/// discovery run with one answer and corrected with
/// `set_domain_exists` equals discovery run with the other.
#[test]
fn set_domain_exists_equals_discovery_with_it() {
    let r = resolver(&[
        (
            "_dmarc.example.com",
            &["v=DMARC1; p=reject; sp=quarantine; np=none"],
        ),
        (
            "_dmarc.own.example.com",
            &["v=DMARC1; p=quarantine; np=reject"],
        ),
        (
            "_dmarc.com",
            &["v=DMARC1; p=reject; sp=quarantine; np=reject; psd=y"],
        ),
        ("_dmarc.bad.example", &["v=DMARC1; p=bogus"]),
    ]);
    let mut changed = 0;
    for domain in [
        "ghost.example.com",
        "own.example.com",
        "a.own.example.com",
        "x.other.com",
        "example.com",
        "bad.example",
        "none.example",
    ] {
        for exists in [true, false] {
            for mode in [Mode::Rfc9989, Mode::Rfc7489] {
                let want = block_on(discover(mode, &r, &last_two, domain, exists));
                let mut got = block_on(discover(mode, &r, &last_two, domain, !exists));
                changed += usize::from(got != want);
                got.set_domain_exists(exists);
                assert_eq!(got, want, "{domain} exists={exists} {mode:?}");
            }
        }
    }
    // The cases do exercise the difference.
    assert!(changed >= 4, "{changed}");
}

#[test]
fn rfc9989_fewest_labels_wins_without_psd() {
    // §4.10.2 rule 3 and its example: records at mail.example.com and example.com.
    let r = resolver(&[
        ("_dmarc.mail.example.com", &["v=DMARC1; p=quarantine"]),
        ("_dmarc.example.com", &["v=DMARC1; p=reject"]),
    ]);
    let d = block_on(discover_rfc9989(&r, "a.mail.example.com", true));
    assert_eq!(d.organizational_domain.as_deref(), Some("example.com"));
    assert_eq!(d.found_at.as_deref(), Some("example.com"));
    assert_eq!(d.effective_policy, Some(Policy::Reject));
    assert_eq!(d.queries.len(), 4);
}

#[test]
fn rfc9989_psd_n_stops_and_selects() {
    let r = resolver(&[
        (
            "_dmarc.mail.example.com",
            &["v=DMARC1; p=quarantine; psd=n"],
        ),
        ("_dmarc.example.com", &["v=DMARC1; p=reject"]),
    ]);
    let d = block_on(discover_rfc9989(&r, "a.mail.example.com", true));
    assert_eq!(
        names(&d),
        ["_dmarc.a.mail.example.com", "_dmarc.mail.example.com"]
    );
    assert_eq!(d.organizational_domain.as_deref(), Some("mail.example.com"));
    assert_eq!(d.source, Some(PolicySource::Organizational));
    assert_eq!(d.effective_policy, Some(Policy::Quarantine));

    let d = block_on(discover_rfc9989(&r, "mail.example.com", true));
    assert_eq!(d.source, Some(PolicySource::Domain));
    assert_eq!(d.organizational_domain.as_deref(), Some("mail.example.com"));
}

#[test]
fn rfc9989_psd_y_gives_public_suffix_policy() {
    // §4.10.2 last example: only _dmarc.com, with psd=y → org is example.com,
    // which has no record, so the PSD record applies (§4.10.1).
    let r = resolver(&[(
        "_dmarc.com",
        &["v=DMARC1; p=reject; sp=quarantine; np=reject; psd=y"],
    )]);
    let d = block_on(discover_rfc9989(&r, "a.mail.example.com", true));
    assert_eq!(d.status, DiscoveryStatus::Valid);
    assert_eq!(d.organizational_domain.as_deref(), Some("example.com"));
    assert_eq!(d.source, Some(PolicySource::PublicSuffix));
    assert_eq!(d.found_at.as_deref(), Some("com"));
    assert_eq!(d.effective_policy, Some(Policy::Quarantine));
    let d = block_on(discover_rfc9989(&r, "nx.example.com", false));
    assert_eq!(d.effective_policy, Some(Policy::Reject));

    // psd=y above an Organizational Domain that has its own record: that one applies.
    let r = resolver(&[
        ("_dmarc.mail.example.com", &["v=DMARC1; p=none"]),
        ("_dmarc.example.com", &["v=DMARC1; p=reject; psd=y"]),
    ]);
    let d = block_on(discover_rfc9989(&r, "a.mail.example.com", true));
    assert_eq!(d.organizational_domain.as_deref(), Some("mail.example.com"));
    assert_eq!(d.source, Some(PolicySource::Organizational));
    assert_eq!(d.effective_policy, Some(Policy::None));
    assert_eq!(d.queries.len(), 3);
}

#[test]
fn cname_at_dmarc_is_followed() {
    let mut r = resolver(&[("_dmarc.provider.example", &["v=DMARC1; p=quarantine"])]);
    r.add_cname("_dmarc.customer.example", "_dmarc.provider.example");
    let d = block_on(discover_rfc9989(&r, "customer.example", true));
    assert_eq!(d.status, DiscoveryStatus::Valid);
    assert_eq!(d.found_at.as_deref(), Some("customer.example"));
    assert_eq!(d.effective_policy, Some(Policy::Quarantine));
    let d = block_on(discover_rfc7489(&r, &last_two, "customer.example", true));
    assert_eq!(d.effective_policy, Some(Policy::Quarantine));
}

#[test]
fn temperror_on_failed_lookup() {
    let mut r = resolver(&[("_dmarc.example.com", &["v=DMARC1; p=reject"])]);
    r.fail(
        "_dmarc.mail.example.com",
        RecordType::Txt,
        DnsFailure::Timeout,
    );
    let d = block_on(discover_rfc9989(&r, "mail.example.com", true));
    assert_eq!(d.status, DiscoveryStatus::TempError);
    assert_eq!(d.effective_policy, None);
    assert_eq!(d.queries[0].outcome, "timeout");
    assert_eq!(d.notes[0].kind, NoteKind::DnsFailure);
    assert_eq!(d.queries.len(), 1);

    let mut r = resolver(&[]);
    r.fail("_dmarc.example.com", RecordType::Txt, DnsFailure::ServFail);
    let d = block_on(discover_rfc9989(&r, "a.example.com", true));
    assert_eq!(d.status, DiscoveryStatus::TempError);
    assert_eq!(names(&d), ["_dmarc.a.example.com", "_dmarc.example.com"]);
    let d = block_on(discover_rfc7489(&r, &last_two, "a.example.com", true));
    assert_eq!(d.status, DiscoveryStatus::TempError);
    assert_eq!(d.queries[1].outcome, "servfail");
}

#[test]
fn multiple_records() {
    let two: &[&str] = &["v=DMARC1; p=reject", "v=DMARC1; p=none"];
    let r = resolver(&[("_dmarc.example.com", two)]);
    let d = block_on(discover_rfc7489(&r, &last_two, "example.com", true));
    assert_eq!(d.status, DiscoveryStatus::Invalid);
    assert_eq!(d.notes[0].kind, NoteKind::MultipleRecords);
    assert_eq!(d.queries[0].dmarc_records, 2);
    let d = block_on(discover_rfc9989(&r, "example.com", true));
    assert_eq!(d.status, DiscoveryStatus::Invalid);
    assert_eq!(names(&d), ["_dmarc.example.com", "_dmarc.com"]);

    // RFC 9989 §4.10 step 2 discards them and walks on; RFC 7489 step 5 stops.
    let r = resolver(&[
        ("_dmarc.mail.example.com", two),
        ("_dmarc.example.com", &["v=DMARC1; p=quarantine"]),
    ]);
    let d = block_on(discover_rfc9989(&r, "mail.example.com", true));
    assert_eq!(d.status, DiscoveryStatus::Valid);
    assert_eq!(d.found_at.as_deref(), Some("example.com"));
    assert_eq!(d.notes.len(), 1);
    let d = block_on(discover_rfc7489(&r, &last_two, "mail.example.com", true));
    assert_eq!(d.status, DiscoveryStatus::Invalid);
    assert_eq!(d.queries.len(), 1);

    // Non-DMARC TXT records do not count.
    let r = resolver(&[(
        "_dmarc.example.com",
        &["v=DMARC2; p=reject", "hello", "v=DMARC1; p=none"],
    )]);
    let d = block_on(discover_rfc7489(&r, &last_two, "example.com", true));
    assert_eq!(d.status, DiscoveryStatus::Valid);
    assert_eq!(
        (d.queries[0].dmarc_records, d.queries[0].other_records),
        (1, 2)
    );
}

#[test]
fn tree_walk_is_bounded_for_long_names() {
    let r = resolver(&[]);
    // The example of RFC 9989 §4.10.
    let d = block_on(discover_rfc9989(
        &r,
        "a.b.c.d.e.f.g.h.i.j.mail.example.com",
        true,
    ));
    assert_eq!(
        names(&d),
        [
            "_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com",
            "_dmarc.g.h.i.j.mail.example.com",
            "_dmarc.h.i.j.mail.example.com",
            "_dmarc.i.j.mail.example.com",
            "_dmarc.j.mail.example.com",
            "_dmarc.mail.example.com",
            "_dmarc.example.com",
            "_dmarc.com",
        ]
    );
    assert_eq!(d.status, DiscoveryStatus::None);
    assert_eq!(
        d.organizational_domain.as_deref(),
        Some("a.b.c.d.e.f.g.h.i.j.mail.example.com")
    );
    // Exactly eight labels: the parent (seven labels) is the starting point.
    let d = block_on(discover_rfc9989(&r, "a.b.c.d.e.f.example.com", true));
    assert_eq!(d.queries.len(), 8);
    assert_eq!(d.queries[1].name, "_dmarc.b.c.d.e.f.example.com");
    // Nine labels: skip to the last seven.
    let d = block_on(discover_rfc9989(&r, "x.a.b.c.d.e.f.example.com", true));
    assert_eq!(d.queries.len(), 8);
    assert_eq!(d.queries[1].name, "_dmarc.b.c.d.e.f.example.com");
    // A hundred labels still makes eight queries.
    let long = format!("{}example.com", "a.".repeat(100));
    let d = block_on(discover_rfc9989(&r, &long, true));
    assert_eq!(d.queries.len(), MAX_TREE_WALK_QUERIES);
    // A single label: one query.
    let d = block_on(discover_rfc9989(&r, "com", true));
    assert_eq!(names(&d), ["_dmarc.com"]);
    assert_eq!(r.query_count(), 8 + 8 + 8 + 8 + 1);
}

#[test]
fn invalid_domains_make_no_queries() {
    let r = resolver(&[]);
    for bad in ["", "a..b", &"a".repeat(64)] {
        let d = block_on(discover_rfc9989(&r, bad, true));
        assert_eq!((d.status, d.queries.len()), (DiscoveryStatus::None, 0));
        assert_eq!(d.notes[0].kind, NoteKind::InvalidDomain);
    }
    // A name whose _dmarc form is too long is not queried.
    let long = vec!["a".repeat(61); 4].join(".");
    assert_eq!(long.len(), 247);
    let d = block_on(discover_rfc9989(&r, &long, true));
    assert_eq!(d.notes[0].kind, NoteKind::NameTooLong);
    assert_eq!(d.queries.len(), 3);
    assert_eq!(r.query_count(), 3);
}

#[test]
fn found_record_that_is_unusable_is_invalid() {
    let r = resolver(&[("_dmarc.example.com", &["v=DMARC1; p=bogus"])]);
    let d = block_on(discover_rfc9989(&r, "example.com", true));
    assert_eq!(d.status, DiscoveryStatus::Invalid);
    assert_eq!(d.effective_policy, None);
    assert_eq!(d.parsed.as_ref().unwrap().codes(), ["invalid_policy"]);
}

#[test]
fn rfc7489_domain_then_organizational() {
    let r = resolver(&[(
        "_dmarc.example.com",
        &["v=DMARC1; p=reject; sp=quarantine; np=none"],
    )]);
    let d = block_on(discover_rfc7489(&r, &last_two, "Mail.Example.com", false));
    assert_eq!(d.status, DiscoveryStatus::Valid);
    assert_eq!(d.source, Some(PolicySource::Organizational));
    assert_eq!(d.organizational_domain.as_deref(), Some("example.com"));
    assert_eq!(names(&d), ["_dmarc.mail.example.com", "_dmarc.example.com"]);
    // np is not an RFC 7489 tag: sp applies even to a non-existent domain.
    assert_eq!(d.effective_policy, Some(Policy::Quarantine));

    let d = block_on(discover_rfc7489(&r, &last_two, "example.com", true));
    assert_eq!(
        (d.source, d.effective_policy),
        (Some(PolicySource::Domain), Some(Policy::Reject))
    );

    // No org domain (a public suffix) or the same name: a single query.
    let none = |_: &str| None;
    let d = block_on(discover_rfc7489(&r, &none, "other.example", true));
    assert_eq!((d.status, d.queries.len()), (DiscoveryStatus::None, 1));
    let d = block_on(discover_rfc7489(&r, &last_two, "other.example", true));
    assert_eq!((d.status, d.queries.len()), (DiscoveryStatus::None, 1));

    // RFC 7489 does not walk intermediate names.
    let r = resolver(&[("_dmarc.mail.example.com", &["v=DMARC1; p=reject"])]);
    let d = block_on(discover_rfc7489(&r, &last_two, "a.mail.example.com", true));
    assert_eq!(d.status, DiscoveryStatus::None);
    let d = block_on(discover_rfc9989(&r, "a.mail.example.com", true));
    assert_eq!(d.status, DiscoveryStatus::Valid);
    let d2 = block_on(discover(
        Mode::Rfc9989,
        &r,
        &last_two,
        "a.mail.example.com",
        true,
    ));
    assert_eq!(d, d2);
}

// ---- external destinations ----

#[test]
fn destination_hosts() {
    assert_eq!(
        destination_host("mailto:dmarc@Example.NET").as_deref(),
        Some("example.net")
    );
    assert_eq!(
        destination_host("mailto:a@b.example?subject=x").as_deref(),
        Some("b.example")
    );
    assert_eq!(
        destination_host("mailto:a%40x@rep%2Eexample").as_deref(),
        Some("rep.example")
    );
    assert_eq!(
        destination_host("https://user@rep.example:8443/x").as_deref(),
        Some("rep.example")
    );
    assert_eq!(destination_host("https://[2001:db8::1]/x"), None);
    assert_eq!(destination_host("mailto:nobody"), None);
    assert_eq!(destination_host("urn:x"), None);
    assert_eq!(destination_host("mailto:a@192.0.2.1"), None);
}

#[test]
fn external_destinations_and_query_names() {
    // The example of RFC 7489 §7.1.
    let p = parse(
        b"v=DMARC1; p=none; rua=mailto:reports@red.example.net,mailto:d@blue.example.com; ruf=mailto:f@sub.red.example.net",
        Mode::Rfc7489,
    );
    let rec = p.record.unwrap();
    let ext = external_destinations(&rec, "blue.example.com", &last_two);
    let got: Vec<(&str, &str, Option<&str>)> = ext
        .iter()
        .map(|e| (e.kind.tag(), e.host.as_str(), e.query_name.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "rua",
                "red.example.net",
                Some("blue.example.com._report._dmarc.red.example.net")
            ),
            (
                "ruf",
                "sub.red.example.net",
                Some("blue.example.com._report._dmarc.sub.red.example.net")
            ),
        ]
    );
    // Same organizational domain: nothing to verify.
    let p = parse(b"v=DMARC1; p=none; rua=mailto:d@example.com", Mode::Rfc7489);
    assert!(external_destinations(&p.record.unwrap(), "mail.example.com", &last_two).is_empty());
    assert_eq!(verification_name(&"a".repeat(200), &"b".repeat(60)), None);
}

fn txt(records: &[&str]) -> Lookup<TxtRecord> {
    Lookup::Records(records.iter().map(|r| TxtRecord::single(*r)).collect())
}

#[test]
fn authorization_answers() {
    let host = "red.example.net";
    assert_eq!(
        classify_authorization(&txt(&["v=DMARC1"]), host),
        Authorization::Authorized {
            rua: None,
            ruf: None
        }
    );
    assert_eq!(
        classify_authorization(&txt(&["v=DMARC1;"]), host).label(),
        "authorized"
    );
    assert_eq!(
        classify_authorization(&txt(&["v=spf1 -all"]), host),
        Authorization::NotAuthorized
    );
    assert_eq!(
        classify_authorization(&txt(&["x v=DMARC1"]), host),
        Authorization::NotAuthorized
    );
    assert_eq!(
        classify_authorization(&Lookup::NxDomain, host),
        Authorization::NotAuthorized
    );
    assert_eq!(
        classify_authorization(&Lookup::NoData, host),
        Authorization::NotAuthorized
    );
    assert_eq!(
        classify_authorization(&Lookup::Failed(DnsFailure::Timeout), host),
        Authorization::TempError(DnsFailure::Timeout)
    );
    match classify_authorization(
        &txt(&["v=DMARC1; rua=mailto:other@red.example.net!5m"]),
        host,
    ) {
        Authorization::Authorized {
            rua: Some(rua),
            ruf: None,
        } => assert_eq!(rua[0].to_string(), "mailto:other@red.example.net!5m"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        classify_authorization(&txt(&["v=DMARC1; rua=mailto:x@evil.example"]), host),
        Authorization::OverrideRejected
    );
    // Mixed answer: the first record that starts with v=DMARC1 counts.
    assert_eq!(
        classify_authorization(&txt(&["hello", "v=DMARC1; p=none"]), host).label(),
        "authorized"
    );
}

#[test]
fn verify_destination_queries_the_name() {
    let mut r = resolver(&[(
        "blue.example.com._report._dmarc.red.example.net",
        &["v=DMARC1"],
    )]);
    r.add_name("x");
    let p = parse(
        b"v=DMARC1; p=none; rua=mailto:a@red.example.net,mailto:b@green.example.org",
        Mode::Rfc9989,
    );
    let ext = external_destinations(&p.record.unwrap(), "blue.example.com", &last_two);
    let results: Vec<&str> = ext
        .iter()
        .map(|e| block_on(verify_destination(&r, e)).label())
        .collect();
    assert_eq!(results, ["authorized", "not_authorized"]);
    assert_eq!(r.query_count(), 2);
}

// ---- property tests ----

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::None),
        Just(Policy::Quarantine),
        Just(Policy::Reject)
    ]
}

fn alignment() -> impl Strategy<Value = Alignment> {
    prop_oneof![Just(Alignment::Relaxed), Just(Alignment::Strict)]
}

fn report_uri() -> impl Strategy<Value = ReportUri> {
    let unit = prop::option::of(prop_oneof![
        Just(SizeUnit::Kilo),
        Just(SizeUnit::Mega),
        Just(SizeUnit::Giga),
        Just(SizeUnit::Tera)
    ]);
    (
        "[a-z0-9.]{1,10}",
        "[a-z]{1,10}\\.(com|example|net)",
        prop::option::of((any::<u64>(), unit)),
    )
        .prop_map(|(local, domain, size)| ReportUri {
            uri: format!("mailto:{local}@{domain}"),
            size: size.map(|(value, unit)| SizeLimit { value, unit }),
        })
}

/// `fo` lists valid in both grammars: at most one of 0/1, d and s at most once.
fn fo() -> impl Strategy<Value = Vec<FailureOption>> {
    (
        prop::option::of(prop_oneof![
            Just(FailureOption::All),
            Just(FailureOption::Any)
        ]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter_map("empty fo", |(digit, d, s)| {
            let mut v: Vec<FailureOption> = digit.into_iter().collect();
            if d {
                v.push(FailureOption::Dkim);
            }
            if s {
                v.push(FailureOption::Spf);
            }
            (!v.is_empty()).then_some(v)
        })
}

const KNOWN: &[&str] = &[
    "v", "p", "sp", "np", "rua", "ruf", "adkim", "aspf", "fo", "rf", "ri", "pct", "psd", "t",
];

fn record() -> impl Strategy<Value = DmarcRecord> {
    let policies = (
        prop::option::of(policy()),
        prop::option::of(policy()),
        prop::option::of(policy()),
    );
    let reports = (
        prop::option::of(prop::collection::vec(report_uri(), 1..4)),
        prop::option::of(prop::collection::vec(report_uri(), 1..4)),
        prop::option::of(fo()),
        prop::option::of(prop::collection::vec("[a-z][a-z0-9-]{0,6}[a-z0-9]", 1..3)),
    );
    let rest = (
        prop::option::of(alignment()),
        prop::option::of(alignment()),
        prop::option::of(any::<u32>()),
        prop::option::of(0u8..=100),
        prop::option::of(prop_oneof![
            Just(PsdFlag::Yes),
            Just(PsdFlag::No),
            Just(PsdFlag::Unknown)
        ]),
        prop::option::of(any::<bool>()),
        prop::collection::btree_map("[a-z]{1,8}", "[A-Za-z0-9._/+-]{1,12}", 0..3),
    );
    (policies, reports, rest).prop_map(
        |((p, sp, np), (rua, ruf, fo, rf), (adkim, aspf, ri, pct, psd, t, unknown))| DmarcRecord {
            raw: String::new(),
            p,
            sp,
            np,
            rua,
            ruf,
            adkim,
            aspf,
            fo,
            rf,
            ri,
            pct,
            psd,
            t,
            unknown: unknown
                .into_iter()
                .filter(|(name, _)| !KNOWN.contains(&name.as_str()))
                .map(|(name, value)| Tag { name, value })
                .collect(),
        },
    )
}

#[test]
fn is_dmarc_record_reads_the_version_tag() {
    for (text, want) in [
        ("v=DMARC1", true),
        ("v=DMARC1; p=reject", true),
        (" V = DMARC1 ;p=none", true),
        ("v=DMARC1;", true),
        ("v=dmarc1; p=reject", false),
        ("v=DMARC10; p=reject", false),
        ("v=DMARC1p=reject", false),
        ("p=reject; v=DMARC1", false),
        ("v=spf1 -all", false),
        ("", false),
        (";", false),
        ("   ", false),
    ] {
        assert_eq!(is_dmarc_record(text.as_bytes()), want, "{text:?}");
        assert_eq!(
            parse(text.as_bytes(), Mode::Rfc9989).verdict != Verdict::NotDmarc,
            want,
            "{text:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for mode in [Mode::Rfc9989, Mode::Rfc7489] {
            let p = parse(&bytes, mode);
            prop_assert_eq!(p.record.is_none(), p.verdict == Verdict::NotDmarc);
            for f in &p.findings {
                prop_assert!(f.offset <= bytes.len());
            }
        }
    }

    /// The allocation-free pre-filter agrees with the full parser, in both
    /// modes, on texts built around the version tag's edge cases.
    #[test]
    fn is_dmarc_record_agrees_with_parse(
        text in "[ \t]{0,2}[vVx]{0,2}[ \t]{0,2}=?[ \t]{0,2}(DMARC1|dmarc1|DMARC|DMARC10|DMARC2|)[ \t]{0,2};?[ \t;]{0,2}(p=reject|p|=|;|v=DMARC1)?",
    ) {
        let bytes = text.as_bytes();
        for mode in [Mode::Rfc9989, Mode::Rfc7489] {
            prop_assert_eq!(
                is_dmarc_record(bytes),
                parse(bytes, mode).verdict != Verdict::NotDmarc,
                "{:?} in {:?}", text, mode
            );
        }
    }

    #[test]
    fn parse_never_panics_on_tag_soup(tail in "[ \tvpsrufcnadkimtgxyz0-9=;:,!@%.-]{0,200}") {
        let text = format!("v=DMARC1;{tail}");
        let c = parse_both(text.as_bytes());
        prop_assert!(c.rfc9989.record.is_some() && c.rfc7489.record.is_some());
        for f in c.rfc9989.findings.iter().chain(&c.rfc7489.findings) {
            prop_assert!(f.offset <= text.len());
        }
    }

    #[test]
    fn rendered_records_round_trip(rec in record()) {
        let text = rec.to_string();
        for mode in [Mode::Rfc9989, Mode::Rfc7489] {
            let parsed = parse(text.as_bytes(), mode);
            let mut expected = rec.clone();
            expected.raw = text.clone();
            prop_assert_eq!(parsed.record.as_ref(), Some(&expected), "{} {:?}", text, mode);
            prop_assert!(parsed.findings.iter().all(|f| f.severity != Severity::Error || f.kind == FindingKind::MissingPolicy),
                "{} {:?} {:?}", text, mode, parsed.codes());
        }
        let new = parse(text.as_bytes(), Mode::Rfc9989);
        prop_assert_eq!(new.verdict, Verdict::Valid);
        prop_assert!(new.conformant());
    }
}

/// The shrunk case the round-trip proptest once found: a record with no tags.
/// RFC 7489 §6.4 needs the separator after the version, so the canonical
/// rendering carries it and parses back under both standards.
#[test]
fn bare_record_renders_with_separator() {
    let bare = parse(b"v=DMARC1;", Mode::Rfc9989).record.expect("record");
    let text = bare.to_string();
    assert_eq!(text, "v=DMARC1;");
    for mode in [Mode::Rfc9989, Mode::Rfc7489] {
        let parsed = parse(text.as_bytes(), mode);
        assert!(parsed.record.is_some(), "{mode:?}");
        assert!(
            !parsed.codes().contains(&"missing_separator"),
            "{mode:?} {:?}",
            parsed.codes()
        );
    }
    // Without the separator RFC 7489 mode does complain: the rendering matters.
    let codes = parse(b"v=DMARC1", Mode::Rfc7489).codes();
    assert!(codes.contains(&"missing_separator"), "{codes:?}");
}

fn unique_tags(n: usize) -> String {
    (0..n)
        .map(|i| {
            let a = (b'a' + (i / 26) as u8) as char;
            let b = (b'a' + (i % 26) as u8) as char;
            format!("; x{a}{b}=1")
        })
        .collect()
}

#[test]
fn tag_limit_boundary() {
    // v + p + 62 tags = MAX_TAGS segments: all examined.
    let at_limit = format!("v=DMARC1; p=none{}", unique_tags(MAX_TAGS - 2));
    for text in [
        at_limit.clone(),
        format!("{at_limit};"),
        format!("{at_limit}; "),
    ] {
        let p = parse(text.as_bytes(), Mode::Rfc9989);
        assert!(!p.has(FindingKind::TooManyTags), "{text}");
        assert_eq!(p.record.unwrap().unknown.len(), MAX_TAGS - 2);
    }
    // One more: the last is not examined.
    let over = format!("v=DMARC1; p=none{}", unique_tags(MAX_TAGS - 1));
    let p = parse(over.as_bytes(), Mode::Rfc9989);
    assert!(p.has(FindingKind::TooManyTags));
    assert_eq!(p.record.unwrap().unknown.len(), MAX_TAGS - 2);
}

#[test]
fn rfc9989_organizational_domain_walk() {
    // §4.10.2 examples.
    let r = resolver(&[
        ("_dmarc.mail.example.com", &["v=DMARC1; p=none"]),
        ("_dmarc.example.com", &["v=DMARC1; p=reject"]),
    ]);
    let w = block_on(organizational_domain_rfc9989(&r, "a.mail.example.com"));
    assert_eq!(w.organizational_domain.as_deref(), Some("example.com"));
    assert_eq!(w.records_at, ["mail.example.com", "example.com"]);
    assert_eq!(w.queries.len(), 4);
    assert_eq!(w.status, DiscoveryStatus::Valid);

    let r = resolver(&[("_dmarc.mail.example.com", &["v=DMARC1; psd=n"])]);
    let w = block_on(organizational_domain_rfc9989(&r, "a.mail.example.com"));
    assert_eq!(w.organizational_domain.as_deref(), Some("mail.example.com"));
    assert_eq!(w.queries.len(), 2);

    let r = resolver(&[("_dmarc.com", &["v=DMARC1; p=none; psd=y"])]);
    let w = block_on(organizational_domain_rfc9989(&r, "a.mail.example.com"));
    assert_eq!(w.organizational_domain.as_deref(), Some("example.com"));
    // Starting at the PSD itself: rule 2 does not apply, rule 3 gives the PSD.
    let w = block_on(organizational_domain_rfc9989(&r, "com"));
    assert_eq!(w.organizational_domain.as_deref(), Some("com"));

    let r = resolver(&[]);
    let w = block_on(organizational_domain_rfc9989(&r, "a.b.example"));
    assert_eq!(w.organizational_domain.as_deref(), Some("a.b.example"));
    assert_eq!(w.status, DiscoveryStatus::None);

    let mut r = resolver(&[("_dmarc.example.com", &["v=DMARC1; p=none"])]);
    r.fail(
        "_dmarc.mail.example.com",
        RecordType::Txt,
        DnsFailure::Refused,
    );
    let w = block_on(organizational_domain_rfc9989(&r, "a.mail.example.com"));
    assert_eq!(
        (w.status, w.organizational_domain),
        (DiscoveryStatus::TempError, None)
    );

    assert_eq!(walk_targets("a.b.c"), ["a.b.c", "b.c", "c"]);
    assert_eq!(
        walk_targets(&format!("{}example.com", "a.".repeat(20))).len(),
        MAX_TREE_WALK_QUERIES
    );
}

#[test]
fn finding_codes_are_unique_snake_case() {
    let codes: Vec<&str> = FindingKind::ALL.iter().map(|k| k.code()).collect();
    let unique: std::collections::HashSet<&str> = codes.iter().copied().collect();
    assert_eq!(unique.len(), codes.len());
    for c in &codes {
        assert!(
            c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{c}"
        );
    }
    // The serde names are the codes.
    for k in FindingKind::ALL {
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            format!("\"{}\"", k.code())
        );
    }
}

#[test]
fn discovery_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let r = MemoryResolver::new();
    let org = |n: &str| last_two(n);
    let a = discover_rfc9989(&r, "example.com", true);
    let b = discover_rfc7489(&r, &org, "example.com", true);
    let c = organizational_domain_rfc9989(&r, "example.com");
    assert_send(&a);
    assert_send(&b);
    assert_send(&c);
    assert_eq!(block_on(a).status, DiscoveryStatus::None);
    assert_eq!(block_on(b).status, DiscoveryStatus::None);
    assert_eq!(block_on(c).status, DiscoveryStatus::None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// RFC 9989 §4.10: never more than eight queries, whatever the name and
    /// wherever records sit; exactly min(labels, 8) when nothing is found.
    #[test]
    fn tree_walk_query_bound(labels in prop::collection::vec("[a-z0-9]{1,5}", 1..40),
                             with_records in prop::collection::vec(any::<bool>(), 40)) {
        let domain = labels.join(".");
        let empty = MemoryResolver::new();
        let d = block_on(discover_rfc9989(&empty, &domain, true));
        prop_assert_eq!(d.queries.len(), labels.len().min(MAX_TREE_WALK_QUERIES));
        let mut r = MemoryResolver::new();
        for (i, on) in with_records.iter().enumerate().take(labels.len()) {
            if *on {
                r.add_txt(&format!("_dmarc.{}", labels[i..].join(".")), TxtRecord::single("v=DMARC1; p=reject"));
            }
        }
        let d = block_on(discover_rfc9989(&r, &domain, true));
        prop_assert!(d.queries.len() <= MAX_TREE_WALK_QUERIES);
        let w = block_on(organizational_domain_rfc9989(&r, &domain));
        prop_assert!(w.queries.len() <= MAX_TREE_WALK_QUERIES);
        let o = block_on(discover_rfc7489(&r, &last_two, &domain, true));
        prop_assert!(o.queries.len() <= MAX_RFC7489_QUERIES);
    }
}

/// Tag names are matched without a copy: known names in any case, unknown
/// names longer than any known one (kept lowercase), and duplicates found by
/// comparing the names in place, case-insensitively, long ones included.
#[test]
fn tag_names_match_in_any_case_and_length() {
    let p = parse(
        b"v=DMARC1; P=Reject; ADKIM=s; ExtensionTagName=Some Value",
        Mode::Rfc9989,
    );
    assert_eq!(p.verdict, Valid);
    let r = p.record.unwrap();
    assert_eq!(r.p, Some(Policy::Reject));
    assert_eq!(r.adkim, Some(Alignment::Strict));
    assert_eq!(
        r.unknown,
        vec![Tag {
            name: "extensiontagname".into(),
            value: "Some Value".into()
        }]
    );
    // `adkimx` is six letters: not `adkim`, and unknown.
    let p = parse(b"v=DMARC1; p=none; adkimx=s", Mode::Rfc9989);
    assert_eq!(p.record.as_ref().unwrap().adkim, None);
    assert_eq!(p.record.unwrap().unknown.len(), 1);
    for dup in [
        "v=DMARC1; p=none; LongerTagName=a; longertagname=b",
        "v=DMARC1; p=none; V=DMARC1",
        "v=DMARC1; p=none; aDkIm=r; ADKIM=s",
    ] {
        for mode in [Mode::Rfc9989, Mode::Rfc7489] {
            let (verdict, found) = codes(dup, mode);
            assert_eq!(verdict, Invalid, "{dup}");
            assert!(found.contains(&"duplicate_tag"), "{dup}: {found:?}");
        }
    }
}
