//! SMTP TLS Reporting policy records (RFC 8460 §3).
//!
//! [`parse`] reads one `_smtp._tls` TXT record into a [`TlsRptRecord`] plus
//! findings; [`classify`] selects among a TXT answer and yields the
//! snapshot status ([`TlsRptStatus`]).

mod classify;
mod parse;
mod types;

pub use classify::{TlsRptAssessment, TlsRptStatus, classify};
pub use parse::{parse, parse_record, starts_with_tlsrpt_version};
pub use types::{
    RuaScheme, RuaUri, TlsRptCode, TlsRptError, TlsRptFinding, TlsRptParse, TlsRptRecord,
};
