//! MTA-STS, SMTP MTA Strict Transport Security (RFC 8461).
//!
//! - [`parse_txt`]: the `_mta-sts` TXT record (RFC 8461 §3.1);
//!   [`select_txt`] picks the record among a TXT answer.
//! - [`parse_policy`]: the policy file (RFC 8461 §3.2).
//! - [`mx_matches`], [`MxPattern::matches`], [`policy_covers`]: MX host
//!   validation (RFC 8461 §4.1).
//! - [`PolicyFetch`] is the HTTPS outcome as data; [`assess_fetch`] judges it
//!   (RFC 8461 §3.3) and [`classify`] yields the snapshot column
//!   `mta_sts_status` ([`MtaStsStatus`]).

mod classify;
pub(crate) mod fields;
mod parse;
mod types;

pub use classify::{
    FetchFailure, FetchProblem, MtaStsAssessment, MtaStsStatus, TxtProblem, assess_fetch, classify,
    is_text_plain, select_txt,
};
pub use parse::{
    MAX_ID_LEN, is_rfc5321_domain, mx_matches, parse_mx_pattern, parse_policy, parse_txt,
    policy_covers, starts_with_sts_version,
};
pub use types::{
    HttpResponse, MAX_MAX_AGE, Mode, MxPattern, Policy, PolicyError, PolicyErrorKind, PolicyFetch,
    SUGGESTED_MAX_POLICY_SIZE, StsRecord, TlsFailure, TxtError, TxtErrorKind,
};
