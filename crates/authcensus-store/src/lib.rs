//! Snapshots: the schema (one place), a streaming Parquet writer, the run
//! manifest, and crash-safe resume.
//!
//! Layout: `<out>/snapshot=<ID>/part-NNNNN.parquet` plus `manifest.json` and
//! `rejected.csv` (see [`layout`]); a sharded crawl writes
//! `<out>/snapshot=<ID>/shard=<K>/…` and [`assemble`] checks that every
//! shard is there. `<out>` may be an object store URL ([`remote`]). Every
//! column is documented in [`schema`].

pub mod assemble;
pub mod error;
pub mod layout;
pub mod manifest;
pub mod reader;
pub mod remote;
pub mod row;
pub mod schema;
pub mod writer;

pub use assemble::{SnapshotFiles, snapshot_files};
pub use error::StoreError;
pub use manifest::Manifest;
pub use remote::RemoteStore;
pub use row::{Label, SnapshotRow};
pub use writer::{PartHook, SnapshotWriter, WriterOptions};
