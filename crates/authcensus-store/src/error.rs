//! Errors of the store: our own failures (a full disk, an unreadable file),
//! never survey findings. Every variant names the path it concerns.

use std::path::{Path, PathBuf};

/// A store failure, with the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Parquet encoding or decoding failed.
    #[error("{path}: parquet: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow array construction or conversion failed.
    #[error("{path}: arrow: {source}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A file's content does not match what this version reads or writes.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The manifest could not be encoded or decoded.
    #[error("{path}: manifest: {source}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// An object store operation failed (`url` is the object or prefix).
    #[error("{url}: {source}")]
    Remote {
        /// The object or prefix URL.
        url: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// An object store URL cannot be used.
    #[error("`{url}`: {message}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A snapshot has a shard that is missing or unfinished: its figures
    /// would be partial, so readers refuse it.
    #[error(
        "snapshot `{snapshot}` is incomplete ({done} of {count} shards finished): {detail}; refusing to use partial figures as whole"
    )]
    Incomplete {
        /// The snapshot directory or URL.
        snapshot: String,
        /// N, when known (0 when no shard has a manifest).
        count: u64,
        /// Shards with a finished manifest.
        done: u64,
        /// Shards (K) with no manifest at all.
        missing: Vec<u64>,
        /// Shards (K) whose manifest says `complete: false` or names a part
        /// that is not there.
        unfinished: Vec<u64>,
        /// A sentence naming the shards and what is wrong with each.
        detail: String,
    },
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        StoreError::Parquet {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn arrow(path: &Path, source: arrow_schema::ArrowError) -> Self {
        StoreError::Arrow {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn format(path: &Path, message: impl Into<String>) -> Self {
        StoreError::Format {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}
