//! Verification of external report destinations.
//!
//! RFC 7489 §7.1 "Verifying External Destinations": when the Organizational
//! Domain of the domain publishing a record differs from the Organizational
//! Domain of the host of a `rua`/`ruf` URI, the receiver queries
//! `<policy domain>._report._dmarc.<destination host>` for TXT; a record
//! starting with `v=DMARC1` authorises the reports, and its own `rua`/`ruf`
//! may override the destination if it keeps the same host.
//!
//! RFC 9989 keeps the rule but moves it out: §11.6 "External Reporting
//! Addresses" says "reporting addresses generally have to be inside the
//! domains about which reports are requested" and that Section 3 of the
//! aggregate-reporting document (RFC 9990) "describes a DNS-based mechanism
//! for validating approved external reporting"; §4.7 (`rua`, `ruf`) points to
//! the same document for URIs whose domain differs from the publishing
//! domain. Only the DMARCbis draft is at hand here, so the mechanism
//! implemented is RFC 7489 §7.1's, which that document carries forward.

use super::discover::OrgDomain;
use super::parse::{Mode, Verdict, parse};
use super::types::{DmarcRecord, ReportUri};
use crate::dns::{DnsFailure, Lookup, Resolver, TxtRecord};
use crate::name::{has_valid_lengths, normalize};

/// Which report a URI is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// `rua`: aggregate reports.
    Aggregate,
    /// `ruf`: failure reports.
    Failure,
}

impl ReportKind {
    /// The tag name (`rua`, `ruf`).
    pub fn tag(self) -> &'static str {
        match self {
            ReportKind::Aggregate => "rua",
            ReportKind::Failure => "ruf",
        }
    }
}

/// A report URI outside the publishing domain's Organizational Domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExternalDestination {
    /// `rua` or `ruf`.
    pub kind: ReportKind,
    /// The URI.
    pub uri: ReportUri,
    /// The destination host (RFC 7489 §7.1 step 1), lowercase.
    pub host: String,
    /// `<policy domain>._report._dmarc.<host>` (steps 2–3); `None` when that
    /// name would exceed the DNS length limits.
    pub query_name: Option<String>,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(hex) = b.get(i + 1..i + 3)
            && let Ok(h) = std::str::from_utf8(hex)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The host of a reporting URI (RFC 7489 §7.1 step 1: "the host portion of the
/// authority component"): for `mailto:` the domain of the (first) address,
/// for hierarchical URIs (`https://…`) the authority host without user
/// information or port. Lowercase, percent-decoded, no trailing dot; `None`
/// if there is none, it is an IP address literal, or it is not a valid name.
pub fn destination_host(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let host = if scheme.eq_ignore_ascii_case("mailto") {
        let to = percent_decode(rest.split('?').next().unwrap_or_default());
        let first = to.split(',').next().unwrap_or_default();
        first.rsplit_once('@')?.1.trim().to_string()
    } else {
        let authority = rest.strip_prefix("//")?;
        let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if let Some(inner) = hostport.strip_prefix('[') {
            inner.split(']').next().unwrap_or_default()
        } else {
            hostport.split(':').next().unwrap_or_default()
        };
        percent_decode(host)
    };
    let host = normalize(&host);
    // An address literal (IPv4, IPv6) has no `_report._dmarc` name to query.
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    (has_valid_lengths(&host) && !is_ip && !host.contains(['[', ']', ' ', ':'])).then_some(host)
}

/// `<policy domain>._report._dmarc.<host>` (RFC 7489 §7.1 steps 2–3), or
/// `None` if the name is too long.
pub fn verification_name(policy_domain: &str, host: &str) -> Option<String> {
    let name = format!(
        "{}._report._dmarc.{}",
        normalize(policy_domain),
        normalize(host)
    );
    has_valid_lengths(&name).then_some(name)
}

/// The `rua`/`ruf` URIs of `record` (published at `policy_domain`) whose host
/// is in another Organizational Domain, with the name to query for each.
/// A name without an Organizational Domain (per `org`) is compared as is.
/// URIs without a usable host are left out.
pub fn external_destinations<O: OrgDomain>(
    record: &DmarcRecord,
    policy_domain: &str,
    org: &O,
) -> Vec<ExternalDestination> {
    let policy_domain = normalize(policy_domain);
    let own = org
        .organizational_domain(&policy_domain)
        .map(|o| normalize(&o))
        .unwrap_or_else(|| policy_domain.clone());
    let lists = [
        (
            ReportKind::Aggregate,
            record.rua.as_deref().unwrap_or_default(),
        ),
        (
            ReportKind::Failure,
            record.ruf.as_deref().unwrap_or_default(),
        ),
    ];
    let mut out = Vec::new();
    for (kind, uris) in lists {
        for uri in uris {
            let Some(host) = destination_host(&uri.uri) else {
                continue;
            };
            let theirs = org
                .organizational_domain(&host)
                .map(|o| normalize(&o))
                .unwrap_or_else(|| host.clone());
            if theirs != own {
                out.push(ExternalDestination {
                    kind,
                    uri: uri.clone(),
                    query_name: verification_name(&policy_domain, &host),
                    host,
                });
            }
        }
    }
    out
}

/// The answer to a verification query, classified (RFC 7489 §7.1 steps 4–8).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authorization {
    /// A TXT record starting with `v=DMARC1` authorises the reports (step 7).
    /// Its `rua`/`ruf`, when present and on the same host, override the
    /// destination (step 8).
    Authorized {
        /// Override for `rua`, when the confirming record has one.
        rua: Option<Vec<ReportUri>>,
        /// Override for `ruf`, when the confirming record has one.
        ruf: Option<Vec<ReportUri>>,
    },
    /// The confirming record overrides with a URI on another host: "the Mail
    /// Receiver generating the report MUST NOT generate a report to either
    /// the original or the override URI".
    OverrideRejected,
    /// No record passes (step 6): "the URI MUST be ignored".
    NotAuthorized,
    /// The lookup failed (step 4: the receiver MAY retry later).
    TempError(DnsFailure),
}

impl Authorization {
    /// Stable label.
    pub fn label(&self) -> &'static str {
        match self {
            Authorization::Authorized { .. } => "authorized",
            Authorization::OverrideRejected => "override_rejected",
            Authorization::NotAuthorized => "not_authorized",
            Authorization::TempError(_) => "temperror",
        }
    }
}

/// Classifies the TXT answer at the verification name for `dest_host`.
///
/// Step 5: each record is parsed as tag=value pairs and "the `v=DMARC1` tag is
/// mandatory and MUST appear first in the list. Discard any that do not pass
/// this test." (No `p` is needed: RFC 7489 §6.3 makes `p` mandatory "for
/// policy records only, but not for third-party reporting records".)
pub fn classify_authorization(answer: &Lookup<TxtRecord>, dest_host: &str) -> Authorization {
    let records = match answer {
        Lookup::Failed(f) => return Authorization::TempError(*f),
        Lookup::NoData | Lookup::NxDomain => return Authorization::NotAuthorized,
        Lookup::Records(r) => r,
    };
    let host = normalize(dest_host);
    let Some(confirming) = records
        .iter()
        .map(|r| parse(&r.joined(), Mode::Rfc7489))
        .find(|p| p.verdict != Verdict::NotDmarc)
    else {
        return Authorization::NotAuthorized;
    };
    let record = confirming.record.unwrap_or_default();
    let same_host = |uris: &Option<Vec<ReportUri>>| {
        uris.iter()
            .flatten()
            .all(|u| destination_host(&u.uri).as_deref() == Some(host.as_str()))
    };
    if !same_host(&record.rua) || !same_host(&record.ruf) {
        return Authorization::OverrideRejected;
    }
    Authorization::Authorized {
        rua: record.rua.filter(|v| !v.is_empty()),
        ruf: record.ruf.filter(|v| !v.is_empty()),
    }
}

/// Queries the verification name of `destination` and classifies the answer.
/// A destination without a query name (too long) is [`Authorization::NotAuthorized`].
pub async fn verify_destination<R: Resolver>(
    resolver: &R,
    destination: &ExternalDestination,
) -> Authorization {
    let Some(name) = &destination.query_name else {
        return Authorization::NotAuthorized;
    };
    let answer = resolver.txt(name).await;
    classify_authorization(&answer, &destination.host)
}
