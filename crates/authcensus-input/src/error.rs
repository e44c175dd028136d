//! Errors of the input layer: our own failures and unusable inputs.
//!
//! A bad *line* is never an error: it is a [`crate::Rejection`]. An error
//! means the run cannot be trusted to be complete (a file that cannot be
//! opened, a corrupt or truncated compressed stream, an `$INCLUDE` we refuse
//! to follow, a spill file we could not write) and must fail loudly.
//!
//! Messages do not repeat their `#[source]`: print the chain (`{:#}` with
//! anyhow) to see the underlying I/O error.

use std::io;
use std::path::PathBuf;

use crate::open::Compression;

/// An input-layer failure. Every variant names the input it concerns.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The input could not be opened.
    #[error("cannot open `{path}`")]
    Open {
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        error: io::Error,
    },
    /// Reading (or decompressing) failed part-way. Lines before `offset` may
    /// have been yielded, but the input is incomplete.
    #[error(
        "reading `{source_name}` failed at byte {offset} of the {compression} stream \
         ({raw_offset} bytes read from the file)"
    )]
    Read {
        /// The source name.
        source_name: String,
        /// Compression detected from the magic bytes.
        compression: Compression,
        /// Bytes of (decompressed) content read before the failure.
        offset: u64,
        /// Bytes read from the file or pipe itself before the failure.
        raw_offset: u64,
        /// The reader's error (e.g. `UnexpectedEof` for a truncated gzip).
        #[source]
        error: io::Error,
    },
    /// A zone file uses `$INCLUDE`, which this reader refuses to follow
    /// (the included file's path is relative to an unknown server layout).
    #[error(
        "`{source_name}` line {line}: $INCLUDE is not supported; \
         concatenate the included files into one zone file first"
    )]
    ZoneInclude {
        /// The source name.
        source_name: String,
        /// Line of the directive.
        line: u64,
    },
    /// A CSV input has no column to take domains from.
    #[error("`{source_name}`: {message}")]
    Column {
        /// The source name.
        source_name: String,
        /// What is missing (e.g. the header fields found).
        message: String,
    },
    /// The Public Suffix List could not be loaded.
    #[error("cannot load the Public Suffix List from {origin}: {message}")]
    Psl {
        /// Where it was read from.
        origin: String,
        /// Why it failed.
        message: String,
    },
    /// A `--shard K/N` value is malformed.
    #[error("invalid shard `{0}`: expected K/N with 0 <= K < N")]
    Shard(String),
    /// The shard settings (flag, `--shard-count`, scheduler environment)
    /// are missing a piece or contradict each other.
    #[error("shard settings: {0}")]
    ShardSettings(String),
    /// A domain list manifest is missing or malformed.
    #[error("domain list `{path}`: {message}")]
    Manifest {
        /// The manifest or list folder.
        path: PathBuf,
        /// Why it is unusable.
        message: String,
    },
    /// Writing or reading a dedup spill file failed.
    #[error("dedup spill file I/O failed")]
    Spill(#[source] io::Error),
}
