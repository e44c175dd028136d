//! BIMI Assertion Record discovery over a [`Resolver`] (draft "Assertion
//! Record Discovery") and the snapshot status.

use super::parse::{parse, starts_with_bimi_version};
use super::types::{BimiCode, BimiFinding, BimiRecord};
use crate::dns::{DnsFailure, Lookup, Resolver, TxtRecord};

/// Value of the snapshot column `bimi_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BimiStatus {
    /// No BIMI record for the selector at the domain nor the organizational domain.
    None,
    /// One valid record with an HTTPS `l=` indicator URI.
    Valid,
    /// A Declination to Publish (`l=` and `a=` empty).
    Declined,
    /// A record set that cannot be used (syntax, several records).
    Invalid,
    /// A lookup failed: unknown, never `none`.
    DnsError,
}

impl BimiStatus {
    /// Stable snapshot label.
    pub fn label(self) -> &'static str {
        match self {
            BimiStatus::None => "none",
            BimiStatus::Valid => "valid",
            BimiStatus::Declined => "declined",
            BimiStatus::Invalid => "invalid",
            BimiStatus::DnsError => "dns_error",
        }
    }
}

/// The outcome of BIMI discovery for one domain and selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BimiAssessment {
    /// The status.
    pub status: BimiStatus,
    /// Names queried, in order.
    pub queried: Vec<String>,
    /// True if the record set came from the organizational domain.
    pub used_fallback: bool,
    /// The record (valid or declination).
    pub record: Option<BimiRecord>,
    /// The indicator URI (`l=`) when valid.
    pub logo_url: Option<String>,
    /// The evidence document URI (`a=`) if any.
    pub evidence_url: Option<String>,
    /// Findings of the selected record, or set-level findings.
    pub findings: Vec<BimiFinding>,
    /// TXT records at the decisive name that were discarded because they do
    /// not begin with `v=BIMI1`.
    pub discarded_records: usize,
    /// The failure behind `dns_error`.
    pub dns_failure: Option<DnsFailure>,
}

impl BimiAssessment {
    fn new() -> Self {
        BimiAssessment {
            status: BimiStatus::None,
            queried: Vec::new(),
            used_fallback: false,
            record: None,
            logo_url: None,
            evidence_url: None,
            findings: Vec::new(),
            discarded_records: 0,
            dns_failure: None,
        }
    }
}

/// What one `<selector>._bimi.<domain>` query gave after discarding
/// records that do not begin with `v=BIMI1`.
enum SetOutcome {
    Failed(DnsFailure),
    Records {
        kept: Vec<Vec<u8>>,
        discarded: usize,
    },
}

fn filter(lookup: Lookup<TxtRecord>) -> SetOutcome {
    match lookup {
        Lookup::Failed(f) => SetOutcome::Failed(f),
        Lookup::NoData | Lookup::NxDomain => SetOutcome::Records {
            kept: Vec::new(),
            discarded: 0,
        },
        Lookup::Records(records) => {
            let total = records.len();
            let kept: Vec<Vec<u8>> = records
                .iter()
                .map(TxtRecord::joined)
                .filter(|r| starts_with_bimi_version(r))
                .collect();
            SetOutcome::Records {
                discarded: total - kept.len(),
                kept,
            }
        }
    }
}

/// Classifies an already-filtered, non-empty set of `v=BIMI1` records
/// (steps 8 and 9): more than one is `invalid`/`multiple_records`; one is
/// parsed.
fn judge(kept: &[Vec<u8>], a: &mut BimiAssessment) {
    let [one] = kept else {
        a.status = BimiStatus::Invalid;
        a.findings.push(BimiFinding {
            code: BimiCode::MultipleRecords,
            fatal: true,
            pos: 0,
        });
        return;
    };
    let parsed = parse(one);
    a.findings = parsed.findings;
    match parsed.record {
        None => a.status = BimiStatus::Invalid,
        Some(r) => {
            a.status = if r.is_declination() {
                BimiStatus::Declined
            } else {
                BimiStatus::Valid
            };
            a.logo_url = r.location.clone();
            a.evidence_url = r.evidence.clone();
            a.record = Some(r);
        }
    }
}

/// Classifies the TXT answer at one `<selector>._bimi.<domain>` name, with
/// no fallback (steps 3, 4, 8, 9).
pub fn classify_txt(lookup: &Lookup<TxtRecord>) -> BimiAssessment {
    let mut a = BimiAssessment::new();
    match filter(lookup.clone()) {
        SetOutcome::Failed(f) => {
            a.status = BimiStatus::DnsError;
            a.dns_failure = Some(f);
        }
        SetOutcome::Records { kept, discarded } => {
            a.discarded_records = discarded;
            if !kept.is_empty() {
                judge(&kept, &mut a);
            }
        }
    }
    a
}

/// The assertion record name `<selector>._bimi.<domain>`.
pub fn record_name(selector: &str, domain: &str) -> String {
    // `crate::name::normalize` of each part, in one allocation.
    let selector = selector.strip_suffix('.').unwrap_or(selector);
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let mut name = String::with_capacity(selector.len() + "._bimi.".len() + domain.len());
    name.push_str(selector);
    name.push_str("._bimi.");
    name.push_str(domain);
    name.make_ascii_lowercase();
    name
}

/// Assertion Record Discovery (draft "Assertion Record Discovery").
///
/// 1-4. Query `<selector>._bimi.<domain>` and discard records not beginning
/// with `v=BIMI1`. 6-7. If the set is empty, query
/// `<selector>._bimi.<org_domain>` ("A custom selector that does not exist
/// falls back to \<selector\>._bimi.\<organizationalDomain\>"); the
/// organizational domain (RFC 7489 §3.2) is computed by the caller, since
/// this crate has no Public Suffix List; pass `None` or the domain itself
/// to skip the fallback. 8-9. More than one record is `invalid`; one record
/// is parsed and gives `valid`, `declined` or `invalid`.
///
/// Not covered: step 5 (`lps=` local-part selectors) needs a message's
/// local-part, which a domain survey does not have; `lps` is reported in
/// the record. A failed query gives `dns_error` without trying the
/// fallback: the set is unknown, not empty.
pub async fn discover<R: Resolver>(
    resolver: &R,
    domain: &str,
    org_domain: Option<&str>,
    selector: &str,
) -> BimiAssessment {
    let mut a = BimiAssessment::new();
    let first = record_name(selector, domain);
    a.queried.push(first.clone());
    let mut outcome = filter(resolver.txt(&first).await);
    let domain_n = crate::name::normalize(domain);
    if let (SetOutcome::Records { kept, .. }, Some(org)) = (&outcome, org_domain) {
        let org_n = crate::name::normalize(org);
        if kept.is_empty() && !org_n.is_empty() && org_n != domain_n {
            let second = record_name(selector, &org_n);
            a.queried.push(second.clone());
            a.used_fallback = true;
            outcome = filter(resolver.txt(&second).await);
        }
    }
    match outcome {
        SetOutcome::Failed(f) => {
            a.status = BimiStatus::DnsError;
            a.dns_failure = Some(f);
        }
        SetOutcome::Records { kept, discarded } => {
            a.discarded_records = discarded;
            if !kept.is_empty() {
                judge(&kept, &mut a);
            }
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::MemoryResolver;
    use futures::executor::block_on;

    #[test]
    fn record_names_are_normalised_parts() {
        for (selector, domain) in [
            ("default", "example.com"),
            ("Brand2.", "Mail.Example.COM."),
            ("", ""),
            ("s", "."),
        ] {
            let expected = format!(
                "{}._bimi.{}",
                crate::name::normalize(selector),
                crate::name::normalize(domain)
            );
            assert_eq!(record_name(selector, domain), expected);
        }
        assert_eq!(
            record_name("Brand2.", "Mail.Example.COM."),
            "brand2._bimi.mail.example.com"
        );
    }

    #[test]
    fn fallback_and_declination() {
        let mut r = MemoryResolver::new();
        r.add_txt(
            "default._bimi.example.com",
            TxtRecord::single("v=BIMI1; l=https://example.com/logo.svg"),
        );
        r.add_txt(
            "default._bimi.no.example.com",
            TxtRecord::single("v=BIMI1; l=; a=;"),
        );
        let a = block_on(discover(
            &r,
            "sub.example.com",
            Some("example.com"),
            "default",
        ));
        assert_eq!(a.status, BimiStatus::Valid);
        assert!(a.used_fallback);
        assert_eq!(a.logo_url.as_deref(), Some("https://example.com/logo.svg"));
        assert_eq!(
            a.queried,
            ["default._bimi.sub.example.com", "default._bimi.example.com"]
        );
        let a = block_on(discover(
            &r,
            "no.example.com",
            Some("example.com"),
            "default",
        ));
        assert_eq!((a.status, a.used_fallback), (BimiStatus::Declined, false));
        let a = block_on(discover(&r, "example.org", Some("example.org"), "default"));
        assert_eq!((a.status, a.queried.len()), (BimiStatus::None, 1));
    }
}
