//! Classification of a domain's MX set: null MX (RFC 7505), ordering
//! (RFC 5321 §5.1) and mailbox providers.

use super::table::Provider;
use crate::dns::{DnsFailure, Lookup, MxRecord};

/// Value of the snapshot column `mx_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MxStatus {
    /// At least one MX host (and no null MX).
    Mx,
    /// A single null MX (RFC 7505 §3): the domain accepts no mail.
    NullMx,
    /// A null MX mixed with other MX records ("A domain that advertises a
    /// null MX MUST NOT advertise any other MX RR", RFC 7505 §3).
    InvalidNullMx,
    /// NODATA: no MX; RFC 5321 §5.1 then falls back to the A/AAAA of the
    /// domain (the implicit MX).
    NoMx,
    /// The domain does not exist.
    NxDomain,
    /// The lookup failed.
    DnsError,
}

impl MxStatus {
    /// Stable snapshot label.
    pub fn label(self) -> &'static str {
        match self {
            MxStatus::Mx => "mx",
            MxStatus::NullMx => "null_mx",
            MxStatus::InvalidNullMx => "invalid_null_mx",
            MxStatus::NoMx => "no_mx",
            MxStatus::NxDomain => "nxdomain",
            MxStatus::DnsError => "dns_error",
        }
    }
}

/// A finding on an MX set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MxCode {
    /// Null MX with other MX records (RFC 7505 §3).
    NullMxMixed,
    /// A lone null MX whose preference is not 0 (RFC 7505 §3 specifies
    /// "preference number 0"); still treated as a null MX.
    NullMxNonzeroPreference,
    /// The same exchange listed twice (the duplicate is dropped).
    DuplicateExchange,
    /// An exchange that is an IP address literal: RFC 1035 §3.3.9 requires a
    /// domain name, and RFC 5321 §5.1 does not allow an address there.
    ExchangeIsAddress,
    /// An exchange that is not a syntactically valid host name
    /// (RFC 5321 §4.1.2 `Domain`).
    InvalidExchangeName,
}

impl MxCode {
    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            MxCode::NullMxMixed => "null_mx_mixed",
            MxCode::NullMxNonzeroPreference => "null_mx_nonzero_preference",
            MxCode::DuplicateExchange => "duplicate_exchange",
            MxCode::ExchangeIsAddress => "exchange_is_address",
            MxCode::InvalidExchangeName => "invalid_exchange_name",
        }
    }
}

/// One MX host, normalized: lowercase, no trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MxHost {
    /// Preference (lower is preferred).
    pub preference: u16,
    /// Exchange host name.
    pub exchange: String,
}

/// A classified MX set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxAssessment {
    /// The status.
    pub status: MxStatus,
    /// Exchanges other than the null MX, sorted by preference then name,
    /// without duplicates.
    pub exchanges: Vec<MxHost>,
    /// Findings, each code at most once, in a fixed order.
    pub findings: Vec<MxCode>,
    /// The provider of the most-preferred MX: among the exchanges with the
    /// lowest preference, the first (by name) whose provider is known.
    pub primary_provider: Option<&'static Provider>,
    /// Distinct providers of all exchanges, in exchange order.
    pub providers: Vec<&'static Provider>,
    /// The failure behind `dns_error`.
    pub dns_failure: Option<DnsFailure>,
}

fn looks_like_address(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some()
}

/// Classifies the MX records of a NOERROR answer.
///
/// Exchanges are normalized (lowercase, one trailing dot removed); an empty
/// exchange or `.` is the null MX. A single null MX is `null_mx` (RFC 7505
/// §3); a null MX among others is `invalid_null_mx` and the others are
/// still listed. Ordering follows RFC 5321 §5.1 ("the lowest-numbered
/// records are the most preferred"), ties broken by name so the result is
/// deterministic (the RFC randomizes ties at delivery time).
pub fn classify_records(records: &[MxRecord]) -> MxAssessment {
    let mut findings: Vec<MxCode> = Vec::new();
    let note = |c: MxCode, findings: &mut Vec<MxCode>| {
        if !findings.contains(&c) {
            findings.push(c);
        }
    };
    let mut nulls: Vec<u16> = Vec::new();
    let mut hosts: Vec<MxHost> = Vec::with_capacity(records.len());
    for r in records {
        let exchange = crate::name::normalize(r.exchange.trim());
        if exchange.is_empty() || exchange == "." {
            nulls.push(r.preference);
            continue;
        }
        if looks_like_address(&exchange) {
            note(MxCode::ExchangeIsAddress, &mut findings);
        } else if !crate::mta_sts::is_rfc5321_domain(exchange.as_bytes()) {
            note(MxCode::InvalidExchangeName, &mut findings);
        }
        hosts.push(MxHost {
            preference: r.preference,
            exchange,
        });
    }
    hosts.sort();
    let before = hosts.len();
    // Same exchange with different preferences: keep the most preferred
    // (the first after the sort). A few hosts are compared directly; a
    // hostile answer's thousands go through a set.
    if hosts.len() <= 32 {
        let mut kept: Vec<MxHost> = Vec::with_capacity(hosts.len());
        for h in hosts.drain(..) {
            if !kept.iter().any(|k| k.exchange == h.exchange) {
                kept.push(h);
            }
        }
        hosts = kept;
    } else {
        let mut seen = std::collections::HashSet::new();
        hosts.retain(|h| seen.insert(h.exchange.clone()));
    }
    if hosts.len() != before {
        note(MxCode::DuplicateExchange, &mut findings);
    }
    let status = match (nulls.as_slice(), hosts.is_empty()) {
        ([], true) => MxStatus::NoMx,
        ([], false) => MxStatus::Mx,
        ([pref], true) => {
            if *pref != 0 {
                note(MxCode::NullMxNonzeroPreference, &mut findings);
            }
            MxStatus::NullMx
        }
        (_, _) => {
            note(MxCode::NullMxMixed, &mut findings);
            MxStatus::InvalidNullMx
        }
    };
    // Each host identified once, for both the providers and the primary.
    let ids: Vec<Option<&'static Provider>> = hosts
        .iter()
        .map(|h| super::providers::MAIL_INDEX.identify(&h.exchange))
        .collect();
    let providers = super::table::distinct(ids.iter().flatten().copied());
    let primary_provider = hosts.first().and_then(|first| {
        hosts
            .iter()
            .zip(&ids)
            .take_while(|(h, _)| h.preference == first.preference)
            .find_map(|(_, p)| *p)
    });
    MxAssessment {
        status,
        exchanges: hosts,
        findings,
        primary_provider,
        providers,
        dns_failure: None,
    }
}

/// Classifies an MX lookup outcome.
pub fn classify(lookup: &Lookup<MxRecord>) -> MxAssessment {
    let empty = |status| MxAssessment {
        status,
        exchanges: Vec::new(),
        findings: Vec::new(),
        primary_provider: None,
        providers: Vec::new(),
        dns_failure: None,
    };
    match lookup {
        Lookup::Records(r) => classify_records(r),
        Lookup::NoData => empty(MxStatus::NoMx),
        Lookup::NxDomain => empty(MxStatus::NxDomain),
        Lookup::Failed(f) => {
            let mut a = empty(MxStatus::DnsError);
            a.dns_failure = Some(*f);
            a
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx(p: u16, e: &str) -> MxRecord {
        MxRecord {
            preference: p,
            exchange: e.to_owned(),
        }
    }

    #[test]
    fn null_mx_cases() {
        let cases: &[(&[MxRecord], &str, &[&str])] = &[
            (&[mx(0, "")], "null_mx", &[]),
            (&[mx(0, ".")], "null_mx", &[]),
            (&[mx(10, "")], "null_mx", &["null_mx_nonzero_preference"]),
            (
                &[mx(0, ""), mx(10, "mx.example.com")],
                "invalid_null_mx",
                &["null_mx_mixed"],
            ),
            (
                &[mx(0, ""), mx(0, "")],
                "invalid_null_mx",
                &["null_mx_mixed"],
            ),
            (&[mx(10, "MX.Example.com.")], "mx", &[]),
            (&[mx(10, "192.0.2.1")], "mx", &["exchange_is_address"]),
            (
                &[mx(10, "bad_host.example")],
                "mx",
                &["invalid_exchange_name"],
            ),
            (
                &[mx(10, "a.example"), mx(20, "A.example.")],
                "mx",
                &["duplicate_exchange"],
            ),
        ];
        for (records, status, codes) in cases {
            let a = classify_records(records);
            assert_eq!(a.status.label(), *status, "{records:?}");
            let got: Vec<&str> = a.findings.iter().map(|c| c.code()).collect();
            assert_eq!(got, *codes, "{records:?}");
        }
    }

    #[test]
    fn ordering_and_primary_provider() {
        let a = classify_records(&[
            mx(20, "alt1.aspmx.l.google.com"),
            mx(10, "mx2.example.net"),
            mx(10, "Mx1.Example.net."),
            mx(30, "x.mail.protection.outlook.com"),
        ]);
        let names: Vec<(u16, &str)> = a
            .exchanges
            .iter()
            .map(|h| (h.preference, h.exchange.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (10, "mx1.example.net"),
                (10, "mx2.example.net"),
                (20, "alt1.aspmx.l.google.com"),
                (30, "x.mail.protection.outlook.com")
            ]
        );
        // The most preferred exchanges are unknown: no primary provider.
        assert_eq!(a.primary_provider, None);
        let ids: Vec<&str> = a.providers.iter().map(|p| p.id).collect();
        assert_eq!(ids, ["google", "microsoft"]);
        assert_eq!(classify(&Lookup::NoData).status, MxStatus::NoMx);
        assert_eq!(classify(&Lookup::NxDomain).status.label(), "nxdomain");
    }

    #[test]
    fn a_repeated_exchange_keeps_its_best_preference_among_few_and_many() {
        for n in [3u16, 40] {
            // Every host twice, the second time less preferred; upper case
            // and a trailing dot are the same host.
            let mut records: Vec<MxRecord> = (0..n)
                .map(|i| MxRecord {
                    preference: i,
                    exchange: format!("mx{i}.example.net"),
                })
                .collect();
            records.extend((0..n).map(|i| MxRecord {
                preference: i + 100,
                exchange: format!("MX{i}.example.net."),
            }));
            let a = classify_records(&records);
            assert_eq!(a.exchanges.len(), usize::from(n), "{n}");
            assert!(a.exchanges.iter().all(|h| h.preference < 100), "{n}");
            assert!(a.findings.contains(&MxCode::DuplicateExchange), "{n}");
            let distinct = classify_records(&records[..usize::from(n)]);
            assert!(
                !distinct.findings.contains(&MxCode::DuplicateExchange),
                "{n}"
            );
        }
    }
}
