//! The input layer of authcensus: someone else's domain list in, a clean,
//! deduplicated stream of domains out, and every rejected line accounted for.
//!
//! ```text
//! file / stdin ──► gzip|zstd (magic bytes) ──► bounded lines ──► format
//!   (plain | csv | tranco | majestic | zone) ──► normalise (IDNA, LDH, lengths)
//!   ──► --shard filter ──► exact dedup (memory-bounded) ──► PSL ──► InputDomain
//!                       └─► Rejection (source, line, raw, reason) + InputStats
//! ```
//!
//! - [`DomainStream`] is the entry point: an iterator of
//!   `Result<InputDomain, InputError>` over several [`InputSpec`]s.
//! - [`normalize_domain`] is the one normalisation rule set (see [`normalize`]).
//! - [`SuffixList`] answers public suffix / registrable domain questions,
//!   including [`SuffixList::organizational_domain`] for DMARC.
//! - [`Shard`] is the stable `--shard K/N` split; [`dedup`] documents the
//!   memory bound; [`lists`] reads `domain-lists/<name>/list.toml`.
//!
//! No async runtime, no network, no Arrow: this crate reads bytes.

pub mod dedup;
mod error;
pub mod format;
pub mod lines;
pub mod lists;
pub mod normalize;
pub mod open;
pub mod psl;
mod reason;
pub mod shard;
mod stats;
pub mod stream;

pub use dedup::DEFAULT_DEDUP_MEMORY;
pub use error::InputError;
pub use format::{Column, Format, SkipKind, UnknownFormat};
pub use lists::{DomainList, ListManifest};
pub use normalize::normalize_domain;
pub use open::{Compression, InputPath};
pub use psl::{PslOrigin, PslSections, SuffixList};
pub use reason::RejectReason;
pub use shard::{SHARD_ASSIGNMENT, Shard, ShardEnv, ShardSource, resolve_shard, shard_hash};
pub use stats::{InputStats, SourceStats};
pub use stream::{
    CountOnly, DomainStream, FnSink, InputDomain, InputSpec, Rejection, RejectionSink,
    StreamOptions,
};
