//! Classification of a domain's MTA-STS deployment: TXT record selection
//! (RFC 8461 §3.1), judging the policy fetch (RFC 8461 §3.3) and the
//! snapshot column `mta_sts_status`.

use super::parse::{parse_policy, parse_txt, starts_with_sts_version};
use super::types::{
    HttpResponse, Policy, PolicyError, PolicyFetch, StsRecord, TlsFailure, TxtError,
};
use crate::dns::{DnsFailure, Lookup, TxtRecord};

/// Value of the snapshot column `mta_sts_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MtaStsStatus {
    /// No TXT record at `_mta-sts.<domain>` (NXDOMAIN or NODATA).
    None,
    /// A valid TXT record and a valid policy fetched per RFC 8461 §3.3.
    Valid,
    /// TXT records exist but none is a valid MTA-STS record.
    InvalidTxt,
    /// More than one TXT record begins with `v=STSv1` (RFC 8461 §3.1:
    /// "If the number of resulting records is not one ... senders MUST
    /// assume the recipient domain does not have an available MTA-STS Policy").
    MultipleTxt,
    /// The TXT record is valid but the policy could not be fetched.
    PolicyFetchFailed,
    /// The policy was fetched but does not parse.
    InvalidPolicy,
    /// The TXT lookup failed (SERVFAIL, timeout, ...): unknown, never `none`.
    /// An addition to the five values above: a failed lookup is not a
    /// missing record.
    DnsError,
}

impl MtaStsStatus {
    /// Stable snapshot label.
    pub fn label(self) -> &'static str {
        match self {
            MtaStsStatus::None => "none",
            MtaStsStatus::Valid => "valid",
            MtaStsStatus::InvalidTxt => "invalid_txt",
            MtaStsStatus::MultipleTxt => "multiple_txt",
            MtaStsStatus::PolicyFetchFailed => "policy_fetch_failed",
            MtaStsStatus::InvalidPolicy => "invalid_policy",
            MtaStsStatus::DnsError => "dns_error",
        }
    }
}

/// Why a TXT record set yields no usable MTA-STS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtProblem {
    /// Several records, none beginning with `v=STSv1`.
    NoStsRecord,
    /// This many records begin with `v=STSv1` (more than one).
    Multiple(usize),
    /// The single candidate record is malformed.
    Syntax(TxtError),
}

/// RFC 8461 §3.1 selection among the TXT records at `_mta-sts.<domain>`.
///
/// Records that do not begin with `v=STSv1` are discarded; more than one
/// remaining record is [`TxtProblem::Multiple`]. When there is exactly one
/// TXT record it is parsed even if it does not begin with `v=STSv1`, so
/// that a lone broken record (`id=...; v=STSv1`) is reported with its
/// syntax error rather than as absent: a survey wants to see the attempt.
/// Several records none of which is a candidate give
/// [`TxtProblem::NoStsRecord`]. Strings are joined without separator.
pub fn select_txt(records: &[TxtRecord]) -> Result<StsRecord, TxtProblem> {
    let joined: Vec<Vec<u8>> = records.iter().map(TxtRecord::joined).collect();
    let candidates: Vec<&Vec<u8>> = joined
        .iter()
        .filter(|r| starts_with_sts_version(r))
        .collect();
    match (candidates.as_slice(), joined.as_slice()) {
        ([one], _) => parse_txt(one).map_err(TxtProblem::Syntax),
        ([], [one]) => parse_txt(one).map_err(TxtProblem::Syntax),
        ([], _) => Err(TxtProblem::NoStsRecord),
        (many, _) => Err(TxtProblem::Multiple(many.len())),
    }
}

/// Why the policy could not be fetched (RFC 8461 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchFailure {
    /// No fetch was attempted (the caller passed none).
    NotAttempted,
    /// `mta-sts.<domain>` has no address.
    NoAddress,
    /// The TCP connection failed.
    ConnectFailed,
    /// The certificate did not validate for `mta-sts.<domain>` (RFC 8461 §3.3).
    TlsInvalidCertificate,
    /// The TLS handshake failed otherwise.
    TlsHandshake,
    /// No complete response in time.
    Timeout,
    /// A 3xx response: "HTTP 3xx redirects MUST NOT be followed" (RFC 8461 §3.3).
    Redirect,
    /// 403 or 429. Deliberately split from [`FetchFailure::HttpStatus`]:
    /// these usually come from bot protection or rate limiting in front of
    /// the Policy Host rather than from a missing policy, so a survey must be
    /// able to tell them apart (and possibly retry from elsewhere). We cannot
    /// know it was our User-Agent, hence the neutral name.
    HttpBlocked,
    /// Any other status than 200 ("only valid if the HTTP response code is
    /// 200", RFC 8461 §3.3).
    HttpStatus,
    /// Media type other than `text/plain`, or no Content-Type (RFC 8461 §3.2:
    /// "senders SHOULD validate that the media type is text/plain").
    ContentType,
    /// The body exceeded the size limit (RFC 8461 §3.3 suggests 64 KiB).
    TooLarge,
}

impl FetchFailure {
    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            FetchFailure::NotAttempted => "not_attempted",
            FetchFailure::NoAddress => "no_address",
            FetchFailure::ConnectFailed => "connect_failed",
            FetchFailure::TlsInvalidCertificate => "tls_invalid_certificate",
            FetchFailure::TlsHandshake => "tls_handshake",
            FetchFailure::Timeout => "timeout",
            FetchFailure::Redirect => "redirect",
            FetchFailure::HttpBlocked => "http_blocked",
            FetchFailure::HttpStatus => "http_status",
            FetchFailure::ContentType => "content_type",
            FetchFailure::TooLarge => "too_large",
        }
    }
}

/// Why a fetch did not produce a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchProblem {
    /// The HTTPS GET failed: the policy is unavailable.
    Failed(FetchFailure),
    /// A body was served per RFC 8461 §3.3 but it is not a valid policy.
    Invalid(PolicyError),
}

/// True if a `Content-Type` value names `text/plain` (RFC 8461 §3.2).
///
/// The media type is compared case-insensitively and parameters are
/// ignored. The RFC sentence "All parameters other than charset=utf-8 or
/// charset=us-ascii are ignored" is read as: those two charsets are the ones
/// understood; any other charset is not a reason to reject, since the
/// parser requires UTF-8 anyway and reports a non-UTF-8 body itself.
pub fn is_text_plain(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("");
    media.trim().eq_ignore_ascii_case("text/plain")
}

/// Judges a policy fetch (RFC 8461 §3.3) and parses the body (§3.2).
///
/// Checks in order: transport failures; 3xx ([`FetchFailure::Redirect`]);
/// 403/429 ([`FetchFailure::HttpBlocked`]); any non-200
/// ([`FetchFailure::HttpStatus`]); the media type; the size (`truncated`, or
/// a body longer than `max_body`); then the policy syntax.
pub fn assess_fetch(fetch: &PolicyFetch, max_body: usize) -> Result<Policy, FetchProblem> {
    let fail = |f| Err(FetchProblem::Failed(f));
    let response: &HttpResponse = match fetch {
        PolicyFetch::NoAddress => return fail(FetchFailure::NoAddress),
        PolicyFetch::ConnectFailed => return fail(FetchFailure::ConnectFailed),
        PolicyFetch::Tls(TlsFailure::InvalidCertificate) => {
            return fail(FetchFailure::TlsInvalidCertificate);
        }
        PolicyFetch::Tls(TlsFailure::Handshake) => return fail(FetchFailure::TlsHandshake),
        PolicyFetch::Timeout => return fail(FetchFailure::Timeout),
        PolicyFetch::Response(r) => r,
    };
    match response.status {
        200 => {}
        300..=399 => return fail(FetchFailure::Redirect),
        403 | 429 => return fail(FetchFailure::HttpBlocked),
        _ => return fail(FetchFailure::HttpStatus),
    }
    if !response.content_type.as_deref().is_some_and(is_text_plain) {
        return fail(FetchFailure::ContentType);
    }
    if response.truncated || response.body.len() > max_body {
        return fail(FetchFailure::TooLarge);
    }
    parse_policy(&response.body).map_err(FetchProblem::Invalid)
}

/// A domain's MTA-STS state for one snapshot row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtaStsAssessment {
    /// The `mta_sts_status` value.
    pub status: MtaStsStatus,
    /// The selected TXT record, if valid.
    pub record: Option<StsRecord>,
    /// The policy, if fetched and valid.
    pub policy: Option<Policy>,
    /// The TXT problem behind `invalid_txt` / `multiple_txt`.
    pub txt_problem: Option<TxtProblem>,
    /// The DNS failure behind `dns_error`.
    pub dns_failure: Option<DnsFailure>,
    /// The fetch failure behind `policy_fetch_failed`.
    pub fetch_failure: Option<FetchFailure>,
    /// The parse error behind `invalid_policy`.
    pub policy_error: Option<PolicyError>,
}

impl MtaStsAssessment {
    fn new(status: MtaStsStatus) -> Self {
        MtaStsAssessment {
            status,
            record: None,
            policy: None,
            txt_problem: None,
            dns_failure: None,
            fetch_failure: None,
            policy_error: None,
        }
    }

    /// The machine-readable finding code behind a non-valid status
    /// (`missing_id`, `multiple_records`, `redirect`, `bad_mode`, ...), or
    /// `None` for `none` and `valid`.
    pub fn finding_code(&self) -> Option<&'static str> {
        if let Some(p) = &self.txt_problem {
            return Some(match p {
                TxtProblem::NoStsRecord => "no_sts_record",
                TxtProblem::Multiple(_) => "multiple_records",
                TxtProblem::Syntax(e) => e.kind.code(),
            });
        }
        if let Some(f) = self.dns_failure {
            return Some(f.label());
        }
        if let Some(f) = self.fetch_failure {
            return Some(f.code());
        }
        self.policy_error.map(|e| e.kind.code())
    }
}

/// Classifies a domain: the `_mta-sts` TXT lookup, then (for a valid
/// record) the policy fetch. `fetch` is `None` when no fetch was made,
/// which yields `policy_fetch_failed` / `not_attempted` for a valid record.
pub fn classify(
    txt: &Lookup<TxtRecord>,
    fetch: Option<&PolicyFetch>,
    max_body: usize,
) -> MtaStsAssessment {
    let records = match txt {
        Lookup::NoData | Lookup::NxDomain => return MtaStsAssessment::new(MtaStsStatus::None),
        Lookup::Failed(f) => {
            let mut a = MtaStsAssessment::new(MtaStsStatus::DnsError);
            a.dns_failure = Some(*f);
            return a;
        }
        Lookup::Records(r) if r.is_empty() => return MtaStsAssessment::new(MtaStsStatus::None),
        Lookup::Records(r) => r,
    };
    let record = match select_txt(records) {
        Ok(r) => r,
        Err(problem) => {
            let status = match problem {
                TxtProblem::Multiple(_) => MtaStsStatus::MultipleTxt,
                _ => MtaStsStatus::InvalidTxt,
            };
            let mut a = MtaStsAssessment::new(status);
            a.txt_problem = Some(problem);
            return a;
        }
    };
    let outcome = match fetch {
        Some(f) => assess_fetch(f, max_body),
        None => Err(FetchProblem::Failed(FetchFailure::NotAttempted)),
    };
    let mut a = MtaStsAssessment::new(MtaStsStatus::Valid);
    a.record = Some(record);
    match outcome {
        Ok(policy) => a.policy = Some(policy),
        Err(FetchProblem::Failed(f)) => {
            a.status = MtaStsStatus::PolicyFetchFailed;
            a.fetch_failure = Some(f);
        }
        Err(FetchProblem::Invalid(e)) => {
            a.status = MtaStsStatus::InvalidPolicy;
            a.policy_error = Some(e);
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_response(ct: &str, body: &str) -> PolicyFetch {
        PolicyFetch::Response(HttpResponse {
            status: 200,
            content_type: Some(ct.into()),
            body: body.as_bytes().to_vec(),
            ..HttpResponse::default()
        })
    }

    #[test]
    fn selection() {
        let r = |s: &str| TxtRecord::single(s);
        assert!(select_txt(&[r("v=spf1 -all"), r("v=STSv1; id=1")]).is_ok());
        assert_eq!(
            select_txt(&[r("v=STSv1; id=1"), r("v=STSv1; id=2")]),
            Err(TxtProblem::Multiple(2))
        );
        assert_eq!(
            select_txt(&[r("foo"), r("bar")]),
            Err(TxtProblem::NoStsRecord)
        );
        assert!(matches!(
            select_txt(&[r("garbage")]),
            Err(TxtProblem::Syntax(_))
        ));
        assert!(select_txt(&[TxtRecord::from_strings(["v=STSv1; i", "d=1"])]).is_ok());
    }

    #[test]
    fn fetch_decisions() {
        let body = "version: STSv1\nmode: none\nmax_age: 1";
        assert!(assess_fetch(&ok_response("text/plain; charset=utf-8", body), 100).is_ok());
        assert!(assess_fetch(&ok_response("TEXT/PLAIN", body), 100).is_ok());
        let code = |f: &PolicyFetch| match assess_fetch(f, 20) {
            Err(FetchProblem::Failed(f)) => f.code(),
            other => panic!("{other:?}"),
        };
        assert_eq!(code(&ok_response("text/html", body)), "content_type");
        assert_eq!(code(&ok_response("text/plain", body)), "too_large");
        for (status, expect) in [
            (301, "redirect"),
            (403, "http_blocked"),
            (429, "http_blocked"),
            (404, "http_status"),
            (500, "http_status"),
        ] {
            let f = PolicyFetch::Response(HttpResponse {
                status,
                ..HttpResponse::default()
            });
            assert_eq!(code(&f), expect);
        }
        assert_eq!(code(&PolicyFetch::Timeout), "timeout");
        assert_eq!(
            code(&PolicyFetch::Tls(TlsFailure::InvalidCertificate)),
            "tls_invalid_certificate"
        );
    }

    #[test]
    fn classify_statuses() {
        let txt = Lookup::Records(vec![TxtRecord::single("v=STSv1; id=1")]);
        let a = classify(&txt, None, 100);
        assert_eq!(
            (a.status, a.finding_code()),
            (MtaStsStatus::PolicyFetchFailed, Some("not_attempted"))
        );
        let a = classify(&Lookup::Failed(DnsFailure::Timeout), None, 100);
        assert_eq!(
            (a.status.label(), a.finding_code()),
            ("dns_error", Some("timeout"))
        );
        assert_eq!(
            classify(&Lookup::NxDomain, None, 1).status,
            MtaStsStatus::None
        );
    }
}
