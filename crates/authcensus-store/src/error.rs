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
