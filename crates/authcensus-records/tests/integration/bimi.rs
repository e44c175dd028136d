//! Vectors for the `bimi` module: Mail::BIMI's record vectors (error codes
//! mapped to ours) and its DNS lookup scenarios against its own zone file,
//! served by a `MemoryResolver`.

// Helpers outside #[test] fns load fixtures; a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authcensus_records::bimi::{self, BimiStatus, discover, parse};
use authcensus_records::dns::{DnsFailure, MemoryResolver, RecordType, TxtRecord};
use authcensus_testsupport::shared_data;
use futures::executor::block_on;
use proptest::prelude::*;
use serde_json::Value;

/// Mail::BIMI error code → ours. `EMPTY_L_TAG` has no counterpart: see
/// [`RECORD_EXCEPTIONS`].
fn map_code(code: &str) -> &'static str {
    match code {
        "DUPLICATE_KEY" => "duplicate_tag",
        "INVALID_V_TAG" => "invalid_version",
        "MISSING_V_TAG" => "missing_version",
        "EMPTY_V_TAG" => "empty_version",
        "MISSING_L_TAG" => "missing_location",
        "INVALID_TRANSPORT_L" => "invalid_location_transport",
        other => panic!("unmapped Mail::BIMI code {other}"),
    }
}

/// Record vectors where we deliberately differ from Mail::BIMI.
///
/// `v=bimi1; l=`: Mail::BIMI says `EMPTY_L_TAG` (invalid). The draft
/// ("Assertion Record Definition", `a=`: "If the a= tag is not present, it
/// is assumed to have an empty value"; "Declination to Publish": "If both
/// the l= and a= tags are empty, it is an explicit refusal to participate")
/// makes this record a Declination to Publish, so we report `declined`.
const RECORD_EXCEPTIONS: &[&str] = &["v=bimi1; l="];

#[test]
fn mail_bimi_record_vectors() {
    let Some(path) = shared_data("bimi/mail-bimi/mail-bimi-vectors.json") else {
        return;
    };
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = v["record_vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 12);
    let mut agreed = 0;
    let mut exceptions = Vec::new();
    for vec in vectors {
        let record = vec["record"].as_str().unwrap();
        let parsed = parse(record.as_bytes());
        let mut theirs: Vec<&str> = vec["error_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        if RECORD_EXCEPTIONS.contains(&record) {
            assert_eq!(theirs, ["EMPTY_L_TAG"]);
            let r = parsed.record.as_ref().unwrap();
            assert!(r.is_declination(), "{record}");
            assert!(parsed.error_codes().is_empty());
            exceptions.push(record);
            continue;
        }
        let valid = vec["valid"].as_bool().unwrap();
        assert_eq!(
            parsed.record.is_some(),
            valid,
            "{record}: {:?}",
            parsed.findings
        );
        let mut ours = parsed.error_codes();
        ours.sort_unstable();
        let mut mapped: Vec<&str> = theirs.drain(..).map(map_code).collect();
        mapped.sort_unstable();
        assert_eq!(ours, mapped, "{record}");
        if valid {
            let r = parsed.record.unwrap();
            assert_eq!(
                r.location.as_deref(),
                Some("https://fastmaildmarc.com/FM_BIMI.svg")
            );
            assert_eq!(r.evidence, None);
        }
        agreed += 1;
    }
    assert_eq!(exceptions, RECORD_EXCEPTIONS);
    println!(
        "Mail::BIMI record vectors: {agreed}/{} agree, {} deliberate exception(s)",
        vectors.len(),
        exceptions.len()
    );
}

/// Reads Mail::BIMI's mock zone (`name TYPE rdata`, one RR per line).
fn zone_resolver(text: &str) -> MemoryResolver {
    let mut r = MemoryResolver::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(3, ' ');
        let (name, rtype, rdata) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        match rtype {
            "TXT" => {
                let strings: Vec<&str> = rdata
                    .split('"')
                    .enumerate()
                    .filter(|(i, _)| i % 2 == 1)
                    .map(|(_, s)| s)
                    .collect();
                assert!(!strings.is_empty(), "{line}");
                r.add_txt(name, TxtRecord::from_strings(strings));
            }
            "A" => {
                r.add_a(name, rdata.parse().unwrap());
            }
            "CNAME" => {
                r.add_cname(name, rdata);
            }
            other => panic!("unexpected type {other} in {line}"),
        }
    }
    r
}

/// The organizational domain of the scenario domains (all under `.com`).
fn org_domain(domain: &str) -> String {
    let labels: Vec<&str> = domain.split('.').collect();
    labels[labels.len() - 2..].join(".")
}

/// Lookup scenarios where we deliberately differ, with our outcome.
///
/// - The two `temperror DNS_ERROR` cases are, per the vector file, an
///   artefact of Mail::BIMI's mock resolver: the zone itself holds no
///   `foobar._bimi.dnslookupfail.com` (so: `none`) and holds a valid
///   `selector._bimi.dnslookupfallbackfail.com` reached by the fallback (so:
///   `valid`). With a planted SERVFAIL we do report `dns_error`: asserted
///   separately below.
/// - `dnslookupspfall.com`: Mail::BIMI skips BIMI because SPF is `+all`.
///   That is a receiver's authentication policy (draft "Authentication
///   Requirements"), not record discovery; the record itself is valid.
const LOOKUP_EXCEPTIONS: &[(&str, &str)] = &[
    ("dnslookupfail.com", "none"),
    ("subdomain.dnslookupfallbackfail.com", "valid"),
    ("dnslookupspfall.com", "valid"),
];

#[test]
fn mail_bimi_lookup_scenarios() {
    let (Some(vpath), Some(zpath)) = (
        shared_data("bimi/mail-bimi/mail-bimi-vectors.json"),
        shared_data("bimi/mail-bimi/zonefile"),
    ) else {
        return;
    };
    let v: Value = serde_json::from_str(&std::fs::read_to_string(vpath).unwrap()).unwrap();
    let zone = std::fs::read_to_string(zpath).unwrap();
    let resolver = zone_resolver(&zone);
    let scenarios = v["lookup_scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 9);
    let mut agreed = 0;
    let mut exceptions = Vec::new();
    for s in scenarios {
        let domain = s["domain"].as_str().unwrap();
        let selector = s["selector"].as_str().unwrap();
        let expect = s["expect"].as_str().unwrap();
        let org = org_domain(domain);
        let a = block_on(discover(&resolver, domain, Some(&org), selector));
        let codes: Vec<&str> = a.findings.iter().map(|f| f.code.code()).collect();
        if let Some((_, ours)) = LOOKUP_EXCEPTIONS.iter().find(|(d, _)| *d == domain) {
            assert_eq!(a.status.label(), *ours, "{domain}");
            exceptions.push(domain);
            continue;
        }
        if expect.starts_with("pass") {
            assert_eq!(a.status, BimiStatus::Valid, "{domain}");
            assert_eq!(
                a.logo_url.as_deref(),
                Some("https://fastmaildmarc.com/FM_BIMI.svg")
            );
        } else if expect.starts_with("fail MULTI_BIMI_RECORD") {
            assert_eq!(
                (a.status, codes.as_slice()),
                (BimiStatus::Invalid, ["multiple_records"].as_slice())
            );
            assert_eq!(a.used_fallback, expect.contains("fallback"), "{domain}");
        } else if expect.starts_with("none") {
            assert_eq!(a.status, BimiStatus::None, "{domain}");
        } else {
            panic!("{domain}: unhandled expectation {expect}");
        }
        agreed += 1;
    }
    let expected: Vec<&str> = LOOKUP_EXCEPTIONS.iter().map(|(d, _)| *d).collect();
    assert_eq!(exceptions, expected);
    println!(
        "Mail::BIMI lookup scenarios: {agreed}/{} agree, {} deliberate exception(s)",
        scenarios.len(),
        exceptions.len()
    );

    // The DNS_ERROR scenarios with a planted failure: `dns_error`, and no
    // fallback after a failed first query.
    let mut failing = zone_resolver(&zone);
    failing.fail(
        "foobar._bimi.dnslookupfail.com",
        RecordType::Txt,
        DnsFailure::ServFail,
    );
    failing.fail(
        "selector._bimi.dnslookupfallbackfail.com",
        RecordType::Txt,
        DnsFailure::Timeout,
    );
    let a = block_on(discover(
        &failing,
        "dnslookupfail.com",
        Some("dnslookupfail.com"),
        "foobar",
    ));
    assert_eq!(
        (a.status.label(), a.dns_failure),
        ("dns_error", Some(DnsFailure::ServFail))
    );
    let a = block_on(discover(
        &failing,
        "subdomain.dnslookupfallbackfail.com",
        Some("dnslookupfallbackfail.com"),
        "selector",
    ));
    assert_eq!((a.status, a.used_fallback), (BimiStatus::DnsError, true));
    assert_eq!(failing.query_count(), 3);
}

#[test]
fn cname_and_record_fallback_queries() {
    let Some(zpath) = shared_data("bimi/mail-bimi/zonefile") else {
        return;
    };
    let resolver = zone_resolver(&std::fs::read_to_string(zpath).unwrap());
    // A record at the author domain wins: no second query.
    let a = block_on(discover(
        &resolver,
        "recordfallback.com",
        Some("recordfallback.com"),
        "selector",
    ));
    assert_eq!((a.status, a.queried.len()), (BimiStatus::Valid, 1));
    // fastmaildmarc.com publishes `a=` empty: valid, no evidence.
    let a = block_on(discover(&resolver, "fastmaildmarc.com", None, "default"));
    assert_eq!(
        (a.status, a.evidence_url.as_deref()),
        (BimiStatus::Valid, None)
    );
    // A subdomain without its own record falls back to the org domain.
    let a = block_on(discover(
        &resolver,
        "sub.domain.com",
        Some("domain.com"),
        "default",
    ));
    assert!(a.used_fallback);
    assert_eq!(
        a.queried,
        ["default._bimi.sub.domain.com", "default._bimi.domain.com"]
    );
    assert_eq!(a.status, BimiStatus::Valid);
}

#[test]
fn selection_discards_non_bimi_records() {
    let mut r = MemoryResolver::new();
    r.add_txt("default._bimi.a.example", TxtRecord::single("hello"));
    r.add_txt(
        "default._bimi.a.example",
        TxtRecord::single("v=BIMI1; l=; a="),
    );
    r.add_txt(
        "default._bimi.b.example",
        TxtRecord::single("v=BIMI2; l=https://b.example/x.svg"),
    );
    let a = block_on(discover(&r, "a.example", None, "default"));
    assert_eq!((a.status, a.discarded_records), (BimiStatus::Declined, 1));
    let a = block_on(discover(&r, "b.example", None, "default"));
    assert_eq!((a.status, a.discarded_records), (BimiStatus::None, 1));
    let a = bimi::classify_txt(&authcensus_records::dns::Lookup::Failed(
        DnsFailure::Refused,
    ));
    assert_eq!(a.status.label(), "dns_error");
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
    }

    #[test]
    fn tag_soup_never_panics(s in "(v|l|a|lps|avp|x)[ ]?=[ ]?[!-:<-~ ]{0,20}(;[ ]?(v|l|a|lps|avp|x)=[!-:<-~]{0,20}){0,5};?") {
        let _ = parse(s.as_bytes());
    }

    #[test]
    fn display_round_trip(host in "[a-z]{1,10}\\.example", path in "[a-z0-9]{1,10}", lps in proptest::collection::vec("[a-z0-9-]{1,10}", 0..3)) {
        let mut text = format!("v=BIMI1; l=https://{host}/{path}.svg; a=https://{host}/vmc.pem");
        if !lps.is_empty() {
            text.push_str(&format!("; lps={}", lps.join(",")));
        }
        let rec = parse(text.as_bytes()).record.unwrap();
        prop_assert_eq!(parse(rec.to_string().as_bytes()).record, Some(rec));
    }
}
