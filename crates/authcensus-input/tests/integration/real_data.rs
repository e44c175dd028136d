//! Real lists and zones from `../shared/data`, with expectations computed
//! independently from the same files.

use std::collections::{BTreeMap, BTreeSet};

use authcensus_input::{Format, RejectReason, StreamOptions};
use authcensus_testsupport::shared_data;

use super::{assert_accounting, run_ok, spec};

/// The gov. zone: 16,536 delegations (README of the shared data, and the
/// independent count below).
#[test]
fn gov_zone_yields_every_delegation() {
    let Some(path) = shared_data("zones/gov.zone") else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    // Independent: owners of NS lines (BIND export: owner TTL class type) below gov.
    let expected: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with(';'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(3) == Some(&"NS") && f[0] != "gov.")
                .then(|| f[0].trim_end_matches('.').to_ascii_lowercase())
        })
        .collect();
    assert_eq!(expected.len(), 16_536);

    let r = run_ok(vec![spec(&path)], StreamOptions::default());
    let got: BTreeSet<String> = r.domains.iter().map(|d| d.domain.clone()).collect();
    assert_eq!(r.domains.len(), 16_536);
    assert_eq!(got, expected);
    assert!(
        r.rejections.is_empty(),
        "{:?}",
        &r.rejections[..3.min(r.rejections.len())]
    );
    let s = &r.stats.sources[0];
    assert_eq!(s.format, Some(Format::Zone));
    assert_eq!(
        s.duplicates, 0,
        "NS records of a delegation are consecutive"
    );
    assert_accounting(&r.stats);
    let first = &r.domains[0];
    assert_eq!(first.public_suffix.as_deref(), Some("gov"));
    assert_eq!(
        first.registrable_domain.as_deref(),
        Some(first.domain.as_str())
    );
    assert!(r.domains.iter().all(|d| d.rank.is_none()));
}

/// The 2018 root zone: owners are padded with spaces; the TLDs are the NS
/// owners other than `.` (1,544, counted here independently).
#[test]
fn root_zone_yields_the_tlds() {
    let Some(path) = shared_data("zones/root-2018031200.zone") else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let expected: BTreeSet<String> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(3) == Some(&"NS") && f[0] != ".")
                .then(|| f[0].trim_end_matches('.').to_ascii_lowercase())
        })
        .collect();
    assert_eq!(expected.len(), 1_544);
    let r = run_ok(vec![spec(&path)], StreamOptions::default());
    let got: BTreeSet<String> = r.domains.iter().map(|d| d.domain.clone()).collect();
    assert_eq!(got, expected);
    assert_eq!(r.domains.len(), 1_544);
    assert!(r.rejections.is_empty(), "{:?}", r.rejections.first());
    assert!(got.contains("xn--p1ai"), "IDN TLDs survive IDNA validation");
    assert_accounting(&r.stats);
    // A TLD is its own public suffix and has no registrable domain.
    let com = r.domains.iter().find(|d| d.domain == "com").unwrap();
    assert_eq!(com.registrable_domain, None);
    assert_eq!(com.public_suffix.as_deref(), Some("com"));
}

/// CISA's .gov list (CSV with a `Domain name` header, detected as CSV).
#[test]
fn dotgov_csv() {
    let Some(path) = shared_data("domains/dotgov/current-full.csv") else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let expected: BTreeSet<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(expected.len(), 16_539);
    let r = run_ok(vec![spec(&path)], StreamOptions::default());
    assert_eq!(r.stats.sources[0].format, Some(Format::Csv));
    let got: BTreeSet<String> = r.domains.iter().map(|d| d.domain.clone()).collect();
    assert_eq!(got, expected);
    assert_eq!(r.domains.len(), 16_539);
    assert!(r.rejections.is_empty());
    assert_eq!(r.domains[0].line, 2);
    assert!(
        r.domains.iter().all(|d| d.rank.is_none()),
        "the list has no rank column"
    );
    assert_accounting(&r.stats);
}

/// The Majestic top 15,000, ranks kept; four rows hold bare suffixes
/// (`.com` twice, `.at`, `.fm`) and are rejected as empty labels.
#[test]
fn majestic_with_ranks() {
    let Some(path) = shared_data("domains/majestic/majestic_million_top15000.csv") else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let mut expected = BTreeMap::new();
    let mut bad_lines = Vec::new();
    for (i, l) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let rank: u64 = f[0].parse().unwrap();
        let domain = f[2].to_ascii_lowercase();
        if domain.starts_with('.') {
            bad_lines.push(i as u64 + 1);
        } else {
            expected.entry(domain).or_insert(rank);
        }
    }
    assert_eq!(bad_lines.len(), 4);
    let r = run_ok(vec![spec(&path)], StreamOptions::default());
    assert_eq!(r.stats.sources[0].format, Some(Format::Majestic));
    let got: BTreeMap<String, u64> = r
        .domains
        .iter()
        .map(|d| (d.domain.clone(), d.rank.unwrap()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(r.domains.len(), 14_996);
    assert_eq!(r.domains[0].domain, "google.com");
    assert_eq!(r.domains[0].rank, Some(1));
    let rejected: Vec<(u64, RejectReason)> =
        r.rejections.iter().map(|x| (x.line, x.reason)).collect();
    assert_eq!(
        rejected,
        bad_lines
            .iter()
            .map(|&l| (l, RejectReason::EmptyLabel))
            .collect::<Vec<_>>()
    );
    assert_eq!(r.stats.sources[0].duplicates, 0);
    assert_accounting(&r.stats);
}
