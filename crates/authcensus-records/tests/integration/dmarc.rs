//! Vectors for the `dmarc` module.
//!
//! `dmarc/mox-dmarc-record-vectors.json`: 41 record strings from mox's
//! `dmarc/parse_test.go` (35 invalid, 6 valid with expected fields). mox is a
//! strict RFC 7489 parser, so every vector is judged in [`Mode::Rfc7489`] and
//! must agree with mox: "valid" ⇔ a usable verdict (valid, or treated as
//! `p=none` by RFC 7489 §6.6.3 step 6), with the expected fields; "invalid" ⇔
//! unusable, for the reason the upstream comment gives (checked as a finding
//! code). There are no exceptions in that mode.
//!
//! Each vector is also judged in [`Mode::Rfc9989`]; the vectors on which
//! RFC 9989 reaches another verdict than mox are listed exactly in
//! [`RFC9989_DIFFERS`] with the rule that makes the difference.
//!
//! Real zones: every TXT record of the 18 hackclub octodns zones
//! (`zones/hackclub-octodns`) is served from a `MemoryResolver` and DMARC
//! discovery is run in both modes over the apexes and selected subdomains;
//! the real `_dmarc.gov` record of `zones/gov.zone` (a `psd=y` Public Suffix
//! Domain record) drives the RFC 9989 PSD cases.

use authcensus_records::dmarc::{
    DiscoveryStatus, DmarcParse, FindingKind, Mode, Policy, PolicySource, Severity, Verdict,
    discover_rfc7489, discover_rfc9989, external_destinations, parse, parse_both,
};
use authcensus_records::dns::{MemoryResolver, TxtRecord};
use authcensus_testsupport::shared_data;
use futures::executor::block_on;
use serde_json::Value;

/// Why each mox-invalid vector is unusable under RFC 7489: the finding that
/// must be present with error severity (from the vector's upstream comment
/// and the rule of RFC 7489 §6.3/§6.4 it breaks).
const RFC7489_REASON: &[(&str, FindingKind)] = &[
    ("", FindingKind::EmptyRecord),
    ("v=", FindingKind::InvalidVersion),
    ("v=DMARC12", FindingKind::InvalidVersion),
    ("v=DMARC1", FindingKind::MissingSeparator),
    ("v=dmarc1; p=none", FindingKind::InvalidVersion),
    ("v=DMARC1 p=none", FindingKind::InvalidVersion),
    ("v=DMARC1;", FindingKind::MissingPolicy),
    ("v=DMARC1; sp=invalid", FindingKind::InvalidSubdomainPolicy),
    ("v=DMARC1; sp=reject; p=reject", FindingKind::PNotSecond),
    ("v=DMARC1; p=none; p=none", FindingKind::DuplicateTag),
    ("v=DMARC1; p=none; p=reject", FindingKind::DuplicateTag),
    ("v=DMARC1;;", FindingKind::EmptyTag),
    ("v=DMARC1; adkim=x", FindingKind::InvalidAdkim),
    ("v=DMARC1; aspf=123", FindingKind::InvalidAspf),
    ("v=DMARC1; ri=", FindingKind::InvalidRi),
    ("v=DMARC1; ri=-1", FindingKind::InvalidRi),
    (
        "v=DMARC1; ri=99999999999999999999999999999999999999",
        FindingKind::InvalidRi,
    ),
    ("v=DMARC1; ri=123bad", FindingKind::InvalidRi),
    ("v=DMARC1; ri=bad", FindingKind::InvalidRi),
    ("v=DMARC1; fo=", FindingKind::InvalidFo),
    ("v=DMARC1; fo=01", FindingKind::InvalidFo),
    ("v=DMARC1; fo=bad", FindingKind::InvalidFo),
    ("v=DMARC1; rf=bad-trailing-dash-", FindingKind::InvalidRf),
    ("v=DMARC1; rf=", FindingKind::InvalidRf),
    (
        "v=DMARC1; rf=bad.non-alphadigitdash",
        FindingKind::InvalidRf,
    ),
    ("v=DMARC1; p=badvalue", FindingKind::InvalidPolicy),
    ("v=DMARC1; sp=bad", FindingKind::InvalidSubdomainPolicy),
    ("v=DMARC1; pct=110", FindingKind::InvalidPct),
    ("v=DMARC1; pct=bogus", FindingKind::InvalidPct),
    ("v=DMARC1; pct=", FindingKind::InvalidPct),
    ("v=DMARC1; rua=", FindingKind::InvalidUri),
    ("v=DMARC1; rua=bogus", FindingKind::InvalidUri),
    (
        "v=DMARC1; rua=mailto:dmarc-feedback@example.com!",
        FindingKind::InvalidUriSize,
    ),
    (
        "v=DMARC1; rua=mailto:dmarc-feedback@example.com!99999999999999999999999999999999999999999999999",
        FindingKind::InvalidUriSize,
    ),
    (
        "v=DMARC1; rua=mailto:dmarc-feedback@example.com!10p",
        FindingKind::InvalidUriSize,
    ),
];

/// The mox-invalid vectors that are usable under RFC 9989, and why. Every
/// other vector gets the same verdict class (usable / unusable) in both modes.
const RFC9989_DIFFERS: &[(&str, &str)] = &[
    // §4.7 `p`: "If this tag is not present in an otherwise syntactically valid
    // DMARC Policy Record, then the record is treated as if it included p=none";
    // §4.8 makes the separator after the version optional.
    ("v=DMARC1", "no p → p=none; `;` optional (§4.7, §4.8)"),
    ("v=DMARC1;", "no p → p=none (§4.7)"),
    ("v=DMARC1;;", "empty tag discarded (§4.8), no p → p=none"),
    // §4.7 lists tags in any order; only `v` must be first.
    (
        "v=DMARC1; sp=reject; p=reject",
        "p need not be second (§4.7)",
    ),
    // Invalid values other than p/sp/np fall back to defaults (§4.8:
    // "Syntax errors in the remainder of the record MUST be discarded in
    // favor of default values"), and p is absent → p=none.
    (
        "v=DMARC1; adkim=x",
        "invalid adkim → default r; no p → none",
    ),
    (
        "v=DMARC1; aspf=123",
        "invalid aspf → default r; no p → none",
    ),
    ("v=DMARC1; fo=", "invalid fo → default 0; no p → none"),
    ("v=DMARC1; fo=01", "invalid fo → default 0; no p → none"),
    ("v=DMARC1; fo=bad", "invalid fo → default 0; no p → none"),
    ("v=DMARC1; rua=", "invalid rua discarded; no p → none"),
    ("v=DMARC1; rua=bogus", "invalid rua discarded; no p → none"),
    (
        "v=DMARC1; rua=mailto:dmarc-feedback@example.com!",
        "invalid rua discarded; no p → none",
    ),
    (
        "v=DMARC1; rua=mailto:dmarc-feedback@example.com!99999999999999999999999999999999999999999999999",
        "invalid rua discarded; no p → none",
    ),
    (
        "v=DMARC1; rua=mailto:dmarc-feedback@example.com!10p",
        "invalid rua discarded; no p → none",
    ),
    // ri, rf, pct are historic (§9.3, Appendix C.5.2): ignored like unknown tags.
    ("v=DMARC1; ri=", "ri historic, ignored; no p → none"),
    ("v=DMARC1; ri=-1", "ri historic, ignored; no p → none"),
    (
        "v=DMARC1; ri=99999999999999999999999999999999999999",
        "ri historic, ignored; no p → none",
    ),
    ("v=DMARC1; ri=123bad", "ri historic, ignored; no p → none"),
    ("v=DMARC1; ri=bad", "ri historic, ignored; no p → none"),
    (
        "v=DMARC1; rf=bad-trailing-dash-",
        "rf historic, ignored; no p → none",
    ),
    ("v=DMARC1; rf=", "rf historic, ignored; no p → none"),
    (
        "v=DMARC1; rf=bad.non-alphadigitdash",
        "rf historic, ignored; no p → none",
    ),
    ("v=DMARC1; pct=110", "pct historic, ignored; no p → none"),
    ("v=DMARC1; pct=bogus", "pct historic, ignored; no p → none"),
    ("v=DMARC1; pct=", "pct historic, ignored; no p → none"),
];

/// Compares the expected fields of a mox-valid vector with the parse; returns
/// the mismatches. (A test helper outside `#[test]`, hence the allow.)
#[allow(clippy::unwrap_used, clippy::panic)]
fn check_fields(p: &DmarcParse, fields: &serde_json::Map<String, Value>) -> Vec<String> {
    let r = p.record.as_ref().unwrap();
    let mut bad = Vec::new();
    let mut check = |key: &str, got: Value, want: &Value| {
        if &got != want {
            bad.push(format!("{key}: expected {want}, got {got}"));
        }
    };
    for (key, want) in fields {
        let got: Value = match key.as_str() {
            "why" => continue,
            // mox reports the policy it applies: p=none for the §6.6.3 fallback.
            "p" => p.policy_for(true, true).map(Policy::label).into(),
            "sp" => r.sp.map(Policy::label).into(),
            "adkim" => r.adkim.map(|a| a.as_str()).into(),
            "aspf" => r.aspf.map(|a| a.as_str()).into(),
            "ri" => r.ri.into(),
            "pct" => r.pct.into(),
            "fo" => {
                r.fo.as_ref()
                    .map(|v| v.iter().map(|o| o.as_str()).collect::<Vec<_>>())
                    .into()
            }
            "rf" => r.rf.clone().into(),
            "rua" | "ruf" => {
                let list = if key == "rua" { &r.rua } else { &r.ruf };
                list.as_ref()
                    .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>())
                    .into()
            }
            other => panic!("unhandled expected field {other}"),
        };
        check(key, got, want);
    }
    bad
}

#[test]
fn mox_record_vectors() {
    let Some(path) = shared_data("dmarc/mox-dmarc-record-vectors.json") else {
        return;
    };
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = json["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 41);

    let mut failures = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    let mut differs: Vec<String> = Vec::new();
    for v in vectors {
        let record = v["record"].as_str().unwrap();
        let expect = v["expect"].as_str().unwrap();
        let old = parse(record.as_bytes(), Mode::Rfc7489);
        let new = parse(record.as_bytes(), Mode::Rfc9989);
        match expect {
            "valid" => {
                valid += 1;
                if !old.verdict.is_usable() {
                    failures.push(format!(
                        "{record:?}: expected usable, got {:?}",
                        old.verdict
                    ));
                    continue;
                }
                let fields = v["expected_fields"].as_object().unwrap();
                for m in check_fields(&old, fields) {
                    failures.push(format!("{record:?}: {m}"));
                }
            }
            "invalid" => {
                invalid += 1;
                if old.verdict.is_usable() {
                    failures.push(format!(
                        "{record:?}: expected unusable, got {:?}",
                        old.verdict
                    ));
                }
                let reason = RFC7489_REASON
                    .iter()
                    .find(|(r, _)| *r == record)
                    .map(|(_, k)| *k);
                let Some(reason) = reason else {
                    failures.push(format!("{record:?}: no expected reason listed"));
                    continue;
                };
                let found = old
                    .findings
                    .iter()
                    .any(|f| f.kind == reason && f.severity == Severity::Error);
                if !found {
                    failures.push(format!(
                        "{record:?}: expected {} among {:?}",
                        reason.code(),
                        old.codes()
                    ));
                }
            }
            other => panic!("unknown expectation {other}"),
        }
        if new.verdict.is_usable() != old.verdict.is_usable() {
            differs.push(record.to_string());
        }
        // The comparison reports a verdict disagreement exactly when the verdicts differ.
        let c = parse_both(record.as_bytes());
        let verdict_disagrees = c
            .disagreements
            .iter()
            .any(|d| d.aspect.label() == "verdict");
        assert_eq!(verdict_disagrees, new.verdict != old.verdict, "{record:?}");
    }
    println!("mox DMARC vectors: {valid} valid + {invalid} invalid judged in rfc7489 mode");
    assert_eq!((valid, invalid), (6, 35));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(RFC7489_REASON.len(), 35);

    let mut listed: Vec<&str> = RFC9989_DIFFERS.iter().map(|(r, _)| *r).collect();
    listed.sort_unstable();
    differs.sort_unstable();
    assert_eq!(
        differs, listed,
        "vectors whose usability differs under RFC 9989"
    );
    println!(
        "rfc9989 mode: {} of 41 vectors judged differently (listed)",
        differs.len()
    );
}

#[test]
fn mox_valid_vectors_under_rfc9989() {
    let Some(path) = shared_data("dmarc/mox-dmarc-record-vectors.json") else {
        return;
    };
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut seen = 0;
    for v in json["vectors"].as_array().unwrap() {
        if v["expect"] != "valid" {
            continue;
        }
        seen += 1;
        let record = v["record"].as_str().unwrap();
        let p = parse(record.as_bytes(), Mode::Rfc9989);
        let want = v["expected_fields"]["p"].as_str().unwrap();
        assert_eq!(
            p.policy_for(true, true).map(Policy::label),
            Some(want),
            "{record:?}"
        );
        // The last vector has fo=0:1:d:s, which RFC 9989 §4.8 `dmarc-fo`
        // forbids ("0" and "1" are mutually exclusive): fo falls back to its
        // default and the record is not conformant, but still usable.
        let fo_conflict = record.contains("0:1:d:s");
        assert_eq!(p.has(FindingKind::InvalidFo), fo_conflict, "{record:?}");
        let expected_verdict = if record.contains("sp=invalid") {
            Verdict::TreatedAsNone
        } else {
            Verdict::Valid
        };
        assert_eq!(p.verdict, expected_verdict, "{record:?}");
    }
    assert_eq!(seen, 6);
}

// ---- real zones ----------------------------------------------------------

/// The registrable domain for the names in these fixtures (all directly
/// under a single-label public suffix: .com .app .af .icu .land .org .new
/// .gov …). The input crate implements [`OrgDomain`] with the real PSL.
///
/// [`OrgDomain`]: authcensus_records::dmarc::OrgDomain
fn last_two(name: &str) -> Option<String> {
    let labels: Vec<&str> = name.split('.').collect();
    (labels.len() >= 2).then(|| labels[labels.len() - 2..].join("."))
}

/// Every TXT record of the hackclub octodns zones, loaded into a resolver
/// (octodns record names are relative to the zone; `\;` is its escape for
/// `;`). Returns the resolver and the zone names.
#[allow(clippy::unwrap_used)]
fn hackclub_zones() -> Option<(MemoryResolver, Vec<String>)> {
    let dir = shared_data("zones/hackclub-octodns")?;
    let mut resolver = MemoryResolver::new();
    let mut zones = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for file in files {
        let zone = file.file_stem().unwrap().to_str().unwrap().to_string();
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for (key, value) in doc.as_mapping().unwrap() {
            let key = key.as_str().unwrap_or_default();
            let name = if key.is_empty() {
                zone.clone()
            } else {
                format!("{key}.{zone}")
            };
            let records = match value {
                serde_yaml::Value::Sequence(s) => s.clone(),
                other => vec![other.clone()],
            };
            for r in records {
                if r["type"].as_str() != Some("TXT") {
                    continue;
                }
                let values = match (&r["values"], &r["value"]) {
                    (serde_yaml::Value::Sequence(v), _) => v.clone(),
                    (_, v) => vec![v.clone()],
                };
                for v in values {
                    let text = v.as_str().unwrap().replace("\\;", ";");
                    resolver.add_txt(&name, TxtRecord::single(text));
                }
            }
        }
        zones.push(zone);
    }
    Some((resolver, zones))
}

#[test]
fn hackclub_zones_discovery() {
    let Some((r, zones)) = hackclub_zones() else {
        return;
    };
    assert_eq!(zones.len(), 18);
    // Expected result per zone apex, read off the zone files.
    let expected: &[(&str, Option<Policy>)] = &[
        ("bulckcah.com", Some(Policy::Reject)),
        ("cpu.land", Some(Policy::Reject)),
        ("hackclub.app", Some(Policy::Reject)),
        ("hackclub.com", Some(Policy::Quarantine)),
        ("hackfoundation.org", Some(Policy::Reject)),
        ("nonprofit.new", Some(Policy::Reject)),
        // hack.af.yaml names its record `_dmarc.hack.af`, which octodns
        // places at `_dmarc.hack.af.hack.af`: the apex has no DMARC record.
        ("hack.af", None),
        // dino.icu only has `_dmarc.inherit`.
        ("dino.icu", None),
    ];
    for zone in &zones {
        let want = expected
            .iter()
            .find(|(z, _)| z == zone)
            .and_then(|(_, p)| *p);
        for d in [
            block_on(discover_rfc9989(&r, zone, true)),
            block_on(discover_rfc7489(&r, &last_two, zone, true)),
        ] {
            assert_eq!(d.effective_policy, want, "{zone} {:?}", d.mode);
            let status = if want.is_some() {
                DiscoveryStatus::Valid
            } else {
                DiscoveryStatus::None
            };
            assert_eq!(d.status, status, "{zone} {:?}", d.mode);
            if want.is_some() {
                assert_eq!(d.source, Some(PolicySource::Domain));
                // The real record is conformant under both standards.
                assert!(d.parsed.as_ref().unwrap().conformant(), "{zone}");
            }
        }
    }

    // Subdomain records and the inheritance of the apex policy.
    let cases: &[(&str, Option<Policy>, Option<&str>)] = &[
        (
            "hackatime.hackclub.com",
            Some(Policy::None),
            Some("hackatime.hackclub.com"),
        ),
        (
            "m.flavortown.hackclub.com",
            Some(Policy::Quarantine),
            Some("m.flavortown.hackclub.com"),
        ),
        // No record of its own: the Organizational Domain's applies (no sp).
        (
            "x.flavortown.hackclub.com",
            Some(Policy::Quarantine),
            Some("hackclub.com"),
        ),
        // counterspell publishes `v=DMARC1; p=none` at the host name, not at
        // `_dmarc.counterspell`: discovery never sees it, and the apex's
        // quarantine applies instead.
        (
            "counterspell.hackclub.com",
            Some(Policy::Quarantine),
            Some("hackclub.com"),
        ),
        // hackclub.app has sp=none.
        ("foo.hackclub.app", Some(Policy::None), Some("hackclub.app")),
        (
            "inherit.dino.icu",
            Some(Policy::None),
            Some("inherit.dino.icu"),
        ),
    ];
    for &(domain, want, at) in cases {
        let new = block_on(discover_rfc9989(&r, domain, true));
        let old = block_on(discover_rfc7489(&r, &last_two, domain, true));
        for d in [&new, &old] {
            assert_eq!(d.effective_policy, want, "{domain} {:?}", d.mode);
            assert_eq!(d.found_at.as_deref(), at, "{domain} {:?}", d.mode);
        }
    }
    // x.inherit.dino.icu: the standards disagree. RFC 9989 walks past
    // `inherit.dino.icu`'s record, finds nothing shorter, and so selects it
    // as the Organizational Domain (§4.10.2 rule 3: fewest labels among the
    // records found); RFC 7489 asks the PSL (dino.icu), which has no record.
    let d = block_on(discover_rfc9989(&r, "x.inherit.dino.icu", true));
    assert_eq!(
        d.queries
            .iter()
            .map(|q| q.name.as_str())
            .collect::<Vec<_>>(),
        [
            "_dmarc.x.inherit.dino.icu",
            "_dmarc.inherit.dino.icu",
            "_dmarc.dino.icu",
            "_dmarc.icu"
        ]
    );
    assert_eq!(d.organizational_domain.as_deref(), Some("inherit.dino.icu"));
    assert_eq!(d.source, Some(PolicySource::Organizational));
    assert_eq!(d.effective_policy, Some(Policy::None));
    let d = block_on(discover_rfc7489(&r, &last_two, "x.inherit.dino.icu", true));
    assert_eq!(
        d.queries
            .iter()
            .map(|q| q.name.as_str())
            .collect::<Vec<_>>(),
        ["_dmarc.x.inherit.dino.icu", "_dmarc.dino.icu"]
    );
    assert_eq!(
        (d.status, d.effective_policy),
        (DiscoveryStatus::None, None)
    );
}

#[test]
fn hackclub_external_report_destinations() {
    let Some((r, _)) = hackclub_zones() else {
        return;
    };
    let mut got = Vec::new();
    for domain in [
        "hackclub.app",
        "hackclub.com",
        "cpu.land",
        "scrapyard.hackclub.com",
    ] {
        let d = block_on(discover_rfc9989(&r, domain, true));
        let record = d.parsed.unwrap().record.unwrap();
        for e in external_destinations(&record, d.found_at.as_deref().unwrap(), &last_two) {
            got.push((domain, e.kind.tag(), e.query_name.unwrap()));
        }
    }
    assert_eq!(
        got,
        [
            (
                "hackclub.app",
                "rua",
                "hackclub.app._report._dmarc.dmarc.postmarkapp.com".to_string()
            ),
            (
                "hackclub.com",
                "rua",
                "hackclub.com._report._dmarc.ag.dmarcly.com".to_string()
            ),
            (
                "hackclub.com",
                "ruf",
                "hackclub.com._report._dmarc.fo.dmarcly.com".to_string()
            ),
        ]
    );
}

/// The real `.gov` zone publishes a Public Suffix Domain record
/// (`psd=y`, RFC 9989 §4.7) at `_dmarc.gov`.
#[test]
fn gov_public_suffix_record() {
    let Some(path) = shared_data("zones/gov.zone") else {
        return;
    };
    let zone = std::fs::read_to_string(path).unwrap();
    let mut r = MemoryResolver::new();
    let mut found = 0;
    for line in zone.lines() {
        let mut fields = line.split_whitespace();
        let owner = fields.next().unwrap_or_default();
        if !owner.starts_with("_dmarc.") || !line.contains("\tTXT\t") {
            continue;
        }
        // One or more quoted character-strings.
        let strings: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        r.add_txt(owner, TxtRecord::from_strings(strings));
        found += 1;
    }
    assert_eq!(found, 1);

    let d = block_on(discover_rfc9989(&r, "gov", true));
    assert_eq!(
        (d.source, d.effective_policy),
        (Some(PolicySource::Domain), Some(Policy::Reject))
    );
    let rec = d.parsed.as_ref().unwrap().record.clone().unwrap();
    assert_eq!(rec.np, Some(Policy::Reject));
    assert!(d.parsed.unwrap().conformant());

    // An existing .gov domain without its own record: the PSD's sp=none.
    let d = block_on(discover_rfc9989(&r, "cisa.gov", true));
    assert_eq!(d.status, DiscoveryStatus::Valid);
    assert_eq!(d.source, Some(PolicySource::PublicSuffix));
    assert_eq!(d.organizational_domain.as_deref(), Some("cisa.gov"));
    assert_eq!(d.effective_policy, Some(Policy::None));
    // A non-existent one: np=reject.
    let d = block_on(discover_rfc9989(&r, "no-such-agency.gov", false));
    assert_eq!(d.effective_policy, Some(Policy::Reject));
    // RFC 7489 stops at the PSL Organizational Domain and finds nothing.
    let d = block_on(discover_rfc7489(&r, &last_two, "cisa.gov", true));
    assert_eq!((d.status, d.queries.len()), (DiscoveryStatus::None, 1));
    // Deep names reach the PSD record within eight queries.
    let d = block_on(discover_rfc9989(&r, "a.b.c.d.e.f.g.h.i.cisa.gov", true));
    assert_eq!(d.queries.len(), 8);
    assert_eq!(d.organizational_domain.as_deref(), Some("cisa.gov"));
    assert_eq!(d.source, Some(PolicySource::PublicSuffix));
}
