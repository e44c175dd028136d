//! DMARC: Policy Records, policy discovery and external report destinations.
//!
//! Two standards are supported side by side, chosen with [`Mode`]:
//!
//! * RFC 9989 (May 2026; final draft draft-ietf-dmarc-dmarcbis-41, "DMARCbis"),
//!   which obsoletes RFC 7489 and RFC 9091: `np`, `psd`, `t` tags; `pct`,
//!   `ri`, `rf` historic; `p` optional; DNS Tree Walk discovery (§4.10).
//! * RFC 7489 (2015): `v` then `p` required in that order; `pct`, `ri`, `rf`;
//!   discovery at the domain then the PSL Organizational Domain (§6.6.3).
//!
//! Layout:
//! * [`types`]: typed values ([`Policy`], [`Alignment`], [`ReportUri`] with
//!   [`SizeLimit`], …) and [`DmarcRecord`] with a canonical `Display`.
//! * [`parse()`]: one record in one mode → [`DmarcParse`] (verdict, record,
//!   findings with stable codes and byte offsets); [`parse_both`] compares the
//!   two standards and lists their [`Disagreement`]s.
//! * [`discover`](mod@discover): async discovery over
//!   [`Resolver`](crate::dns::Resolver) → [`DmarcDiscovery`]; the PSL stays
//!   outside this crate behind [`OrgDomain`].
//! * [`external`]: RFC 7489 §7.1 / RFC 9989 §11.6 external destination
//!   verification inputs and answer classification.
//!
//! A broken record is data: [`parse()`] never fails, and [`DmarcParse::into_result`]
//! turns it into a [`ParseError`] for callers that want a `Result`.

pub mod discover;
pub mod external;
pub mod parse;
pub mod types;

pub use discover::{
    DiscoveryNote, DiscoveryStatus, DmarcDiscovery, DmarcQuery, MAX_RFC7489_QUERIES,
    MAX_TREE_WALK_QUERIES, NoteKind, OrgDomain, OrgDomainWalk, PolicySource, discover,
    discover_rfc7489, discover_rfc9989, organizational_domain_rfc9989, walk_targets,
};
pub use external::{
    Authorization, ExternalDestination, ReportKind, classify_authorization, destination_host,
    external_destinations, verification_name, verify_destination,
};
pub use parse::{
    Aspect, Disagreement, DmarcComparison, DmarcParse, Finding, FindingKind, MAX_TAGS, MAX_URIS,
    Mode, ParseError, Severity, Verdict, is_dmarc_record, parse, parse_both,
};
pub use types::{
    Alignment, DmarcRecord, FailureOption, Policy, PsdFlag, ReportUri, SizeLimit, SizeUnit, Tag,
};

#[cfg(test)]
mod tests;
