//! The authcensus testbed: a reproducible synthetic universe of mail domains
//! served over real DNS (UDP and TCP) and HTTPS on loopback, with known ground
//! truth.
//!
//! - [`generate()`] writes a universe directory from a seed (same seed, same
//!   bytes): zone files, MTA-STS policies, `testbed.json`, `domains.txt` and
//!   the ground-truth Parquet `truth/part-00000.parquet`. With
//!   [`GenerateOptions::evolve_from`] it writes the next month's universe and
//!   records the intended transitions.
//! - [`serve()`] answers from that directory: an authoritative DNS server
//!   (answers recursion-desired queries too, so a crawler can use it as its
//!   resolver) with seeded fault injection, and an HTTPS server for the
//!   `mta-sts.*` hosts with a generated CA (`ca.pem`).
//!
//! The ground truth asserts the columns in [`CONTRACT`]; see the crate README
//! for the distributions and their sources.

pub mod check;
pub mod generate;
pub mod rng;
pub mod serve;

use std::path::{Path, PathBuf};

pub use check::{Mismatch, TruthReport, compare};
pub use generate::truth::CONTRACT;
pub use generate::{GenerateOptions, GenerateSummary, TestbedManifest, generate, read_manifest};
pub use serve::synthetic::{SYNTHETIC_ZONE, synthetic_domain};
pub use serve::{FaultOptions, RunningTestbed, ServeOptions, serve, serve_synthetic};

/// Errors of the generator and the servers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or socket operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or address.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A JSON file did not (de)serialise.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// The truth snapshot could not be written.
    #[error("truth snapshot: {0}")]
    Store(#[from] authcensus_store::StoreError),
    /// A zone file line the server cannot load.
    #[error("{path}:{line}: {message}")]
    Zone {
        /// The zone file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Certificate generation or TLS configuration failed.
    #[error("tls: {0}")]
    Tls(String),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn json(path: &Path, source: serde_json::Error) -> Self {
        Error::Json {
            path: path.to_path_buf(),
            source,
        }
    }
}
