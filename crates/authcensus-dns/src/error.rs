//! Errors of the engine itself (never query outcomes).

use std::io;

/// A failure of the DNS engine: bad configuration or a socket that could not
/// be bound. Query outcomes (NXDOMAIN, timeouts, SERVFAIL, …) are never
/// errors; they are data in [`crate::QueryOutcome`] and
/// [`authcensus_records::dns::Lookup`].
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The configuration names no upstream resolver.
    #[error("no upstream resolver configured")]
    NoUpstreams,
    /// A configuration value is out of range.
    #[error("invalid DNS configuration: {0}")]
    InvalidConfig(&'static str),
    /// A UDP socket could not be bound.
    #[error("cannot bind UDP socket on {family}: {source}")]
    Bind {
        /// `ipv4` or `ipv6`.
        family: &'static str,
        /// The operating-system error.
        source: io::Error,
    },
    /// The system resolver configuration could not be read.
    #[error("cannot read {path}: {source}")]
    ResolvConf {
        /// The file that was read.
        path: String,
        /// The operating-system error.
        source: io::Error,
    },
}
