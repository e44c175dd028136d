//! SPF (RFC 7208): record types, parser, record selection, static analysis
//! and a full `check_host()` evaluator.
//!
//! - [`types`]: [`Record`], [`Term`], [`Directive`], [`Qualifier`],
//!   [`Mechanism`], [`Modifier`], [`MacroString`], mirroring the ABNF.
//! - [`parse`]: [`parse_record`] (syntax errors carry a [`SpfParseErrorKind`],
//!   a byte offset and the token) and [`select_spf`] (RFC 7208 §4.5).
//! - [`analyze()`]: static, client-independent analysis of a domain's policy
//!   tree over a [`Resolver`](crate::dns::Resolver), with stable finding codes.
//! - [`check_host`]: the RFC 7208 §4 evaluation for one client IP.
//! - [`macros`]: macro expansion (§7).
//!
//! Records are hostile: parsing accepts arbitrary bytes and never panics,
//! and every walk is bounded by [`Limits`].

pub mod analyze;
pub mod eval;
pub mod macros;
pub mod parse;
pub mod types;

pub use analyze::{
    AnalysisStatus, Finding, FindingCode, MAX_RECORDS_WALKED, Severity, SpfAnalysis, Via,
    WalkedRecord, analyze,
};
pub use eval::{CheckHostParams, Limits, SpfResult, SpfVerdict, check_host, is_valid_domain};
pub use parse::{
    MAX_TERMS, MacroContext, Selection, SpfParseError, SpfParseErrorKind, is_spf_record,
    parse_domain_spec, parse_macro_string, parse_record, parse_record_str, select_spf,
    spf_record_texts,
};
pub use types::{
    Directive, DomainSpec, DualCidr, MacroExpand, MacroLetter, MacroString, MacroToken, Mechanism,
    Modifier, Qualifier, Record, Term,
};

#[cfg(test)]
mod tests;
