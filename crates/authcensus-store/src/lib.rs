//! Snapshots: the schema (one place), a streaming Parquet writer, the run
//! manifest, and crash-safe resume.
//!
//! Layout: `<out>/snapshot=<ID>/part-NNNNN.parquet` plus `manifest.json` and
//! `rejected.csv` (see [`layout`]). Every column is documented in [`schema`].

pub mod error;
pub mod layout;
pub mod manifest;
pub mod reader;
pub mod row;
pub mod schema;
pub mod writer;

pub use error::StoreError;
pub use manifest::Manifest;
pub use row::SnapshotRow;
pub use writer::{SnapshotWriter, WriterOptions};
