//! Reports over authcensus snapshots, computed with Apache DataFusion over
//! the snapshots' Parquet files: an adoption summary of one snapshot
//! ([`summary`]), what changed between two ([`diff`]), metrics over time
//! ([`trend`]) and compliance profiles ([`profile`]), rendered as a terminal
//! table, Markdown, JSON, CSV or self-contained HTML ([`render`]).
//!
//! Every entry point is `async` (DataFusion runs on tokio); the CLI drives
//! them with a runtime. Snapshots of another schema version are refused by
//! name before any query ([`source::check_part`]). See the crate README for
//! the JSON structure and the engine decision.

pub mod diff;
mod diff_tally;
pub mod options;
pub mod profile;
pub mod query;
pub mod render;
pub mod source;
pub mod summary;
pub mod trend;

use std::path::PathBuf;

pub use options::{Denominator, Filter, GroupBy, ReportOptions};
pub use source::{Snapshot, list_snapshots, open_snapshot};

/// Errors of the report engine.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A snapshot path that is not a readable snapshot of a supported schema version.
    #[error("{}: {message}", path.display())]
    Snapshot {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A query failed to plan or run.
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// Arrow conversion of a result failed.
    #[error("result: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// A bad option value.
    #[error("{0}")]
    Usage(String),
    /// A compliance profile that cannot be read.
    #[error("profile {}: {message}", path.display())]
    Profile {
        /// The profile file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}
