//! Selection among the TXT records at `_smtp._tls.<domain>` and the
//! snapshot status (RFC 8460 §3).

use super::parse::{parse, starts_with_tlsrpt_version};
use super::types::{TlsRptCode, TlsRptFinding, TlsRptRecord};
use crate::dns::{DnsFailure, Lookup, TxtRecord};

/// Value of the snapshot column `tlsrpt_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsRptStatus {
    /// No TXT record at `_smtp._tls.<domain>`.
    None,
    /// Exactly one usable TLS-RPT record.
    Valid,
    /// Records exist but none is usable (syntax errors, several records).
    Invalid,
    /// The lookup failed: unknown, never `none`.
    DnsError,
}

impl TlsRptStatus {
    /// Stable snapshot label.
    pub fn label(self) -> &'static str {
        match self {
            TlsRptStatus::None => "none",
            TlsRptStatus::Valid => "valid",
            TlsRptStatus::Invalid => "invalid",
            TlsRptStatus::DnsError => "dns_error",
        }
    }
}

/// A domain's TLS-RPT state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptAssessment {
    /// The status.
    pub status: TlsRptStatus,
    /// The record when valid.
    pub record: Option<TlsRptRecord>,
    /// Findings of the selected record, or set-level findings.
    pub findings: Vec<TlsRptFinding>,
    /// The DNS failure behind `dns_error`.
    pub dns_failure: Option<DnsFailure>,
}

/// Classifies the TXT lookup at `_smtp._tls.<domain>`.
///
/// RFC 8460 §3: records not beginning with `v=TLSRPTv1` are discarded; if
/// the number of remaining records is not one the domain does not
/// implement TLS-RPT. A survey reports a lone non-TLS-RPT record with its
/// syntax findings (`invalid`), several candidates as `multiple_records`
/// (`invalid`), and several records none of which is a candidate as
/// `no_tlsrpt_record` (`invalid`).
pub fn classify(txt: &Lookup<TxtRecord>) -> TlsRptAssessment {
    let mut a = TlsRptAssessment {
        status: TlsRptStatus::None,
        record: None,
        findings: Vec::new(),
        dns_failure: None,
    };
    let records = match txt {
        Lookup::Records(r) if !r.is_empty() => r,
        Lookup::Failed(f) => {
            a.status = TlsRptStatus::DnsError;
            a.dns_failure = Some(*f);
            return a;
        }
        _ => return a,
    };
    let joined: Vec<Vec<u8>> = records.iter().map(TxtRecord::joined).collect();
    let candidates: Vec<&Vec<u8>> = joined
        .iter()
        .filter(|r| starts_with_tlsrpt_version(r))
        .collect();
    let chosen = match (candidates.len(), joined.len()) {
        (1, _) => candidates.first().copied(),
        (0, 1) => joined.first(),
        (0, _) => None,
        _ => {
            a.status = TlsRptStatus::Invalid;
            a.findings.push(set_finding(TlsRptCode::MultipleRecords));
            return a;
        }
    };
    let Some(chosen) = chosen else {
        a.status = TlsRptStatus::Invalid;
        a.findings.push(set_finding(TlsRptCode::NoTlsRptRecord));
        return a;
    };
    let parsed = parse(chosen);
    a.findings = parsed.findings;
    a.status = if parsed.record.is_some() {
        TlsRptStatus::Valid
    } else {
        TlsRptStatus::Invalid
    };
    a.record = parsed.record;
    a
}

fn set_finding(code: TlsRptCode) -> TlsRptFinding {
    TlsRptFinding {
        code,
        fatal: true,
        pos: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(records: &[&str]) -> (&'static str, Vec<&'static str>) {
        let lookup = Lookup::Records(records.iter().map(|s| TxtRecord::single(*s)).collect());
        let a = classify(&lookup);
        (
            a.status.label(),
            a.findings.iter().map(|f| f.code.code()).collect(),
        )
    }

    #[test]
    fn selection() {
        assert_eq!(
            status(&["v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@b.example"]),
            ("valid", vec![])
        );
        assert_eq!(
            status(&[
                "v=TLSRPTv1; rua=mailto:a@b.example",
                "v=TLSRPTv1;rua=mailto:c@d"
            ]),
            ("invalid", vec!["multiple_records"])
        );
        assert_eq!(status(&["a", "b"]), ("invalid", vec!["no_tlsrpt_record"]));
        assert_eq!(
            status(&["v=TLSRPTv10; rua=mailto:a@b"]),
            ("invalid", vec!["bad_version"])
        );
        assert_eq!(classify(&Lookup::NoData).status, TlsRptStatus::None);
        assert_eq!(
            classify(&Lookup::Failed(DnsFailure::ServFail)).status,
            TlsRptStatus::DnsError
        );
    }
}
