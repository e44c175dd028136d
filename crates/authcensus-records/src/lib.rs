//! Pure parsers and classifiers for the records of email domain authentication.
//!
//! This crate turns DNS record text into typed, classified findings. It does no
//! I/O and owns no async runtime: where a protocol needs further DNS lookups
//! (SPF include/redirect trees, DMARC tree walk, BIMI fallback) it goes through
//! the [`dns::Resolver`] trait, which the `authcensus-dns` crate implements over
//! the network and [`dns::MemoryResolver`] implements from a map for tests.
//!
//! Records come from strangers on the internet: every parser accepts arbitrary
//! bytes, never panics, and bounds its work. A broken record is a *finding*
//! (data with a stable machine-readable code), never a Rust error.
//!
//! One module per protocol, each split into types, `parse` and `classify`:
//! [`spf`], [`dmarc`], [`mta_sts`], [`tlsrpt`], [`bimi`], [`mx`].

pub mod bimi;
pub mod dmarc;
pub mod dns;
pub mod mta_sts;
pub mod mx;
pub mod name;
pub mod spf;
pub mod tlsrpt;
