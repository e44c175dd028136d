//! `manifest.json`: what a snapshot is and how it was made.
//!
//! Written when a crawl starts (`complete: false`), rewritten atomically
//! whenever a part file closes and when the crawl ends (`complete: true`). A
//! reader that finds `complete: false` knows the snapshot is partial (an
//! interrupted or running crawl) and must say so rather than report partial
//! figures as whole.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::StoreError;
use crate::layout::{self, MANIFEST_FILE};
use crate::writer::PartInfo;

/// A resolver the crawl queried.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResolverInfo {
    /// `IP:PORT`.
    pub address: String,
    /// Whether the resolver validates DNSSEC (AD bit seen on a signed probe),
    /// null when not probed.
    pub dnssec_validating: Option<bool>,
}

/// The Public Suffix List a run used: registrable domains and the RFC 7489
/// organisational-domain fallback depend on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PslInfo {
    /// Path of the list, or `embedded`.
    pub source: String,
    /// SHA-256 of the list's bytes, lowercase hex.
    pub sha256: String,
}

/// One input of a run.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct InputInfo {
    /// Path as given (`-` for stdin).
    pub path: String,
    /// Format used (`plain`, `tranco`, `majestic`, `csv`, `zone`).
    pub format: String,
    /// `--tag` label, if any.
    pub tag: Option<String>,
    /// Lines read.
    pub lines: u64,
    /// Domains accepted (before deduplication across inputs).
    pub accepted: u64,
    /// Lines rejected (each recorded in the rejected-lines file).
    pub rejected: u64,
    /// SHA-256 of the (decompressed) bytes read, lowercase hex.
    pub sha256: Option<String>,
}

/// The shard a manifest describes (a sharded crawl writes one manifest per
/// shard, in `snapshot=<ID>/shard=<K>/`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardInfo {
    /// K, in `0..count`.
    pub index: u64,
    /// N, the number of shards of the snapshot.
    pub count: u64,
    /// How domains are assigned to shards: `sha256_first8_be_mod_n` (the
    /// first 8 bytes of SHA-256 of the A-label, big-endian, mod N).
    pub assignment: String,
    /// Where K/N came from: `--shard`, `JOB_COMPLETION_INDEX` or `SLURM_ARRAY_TASK_ID`.
    pub source: String,
}

/// The run manifest of one snapshot.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// `authcensus` version that wrote the snapshot.
    pub tool_version: String,
    /// Snapshot schema version of the part files.
    pub schema_version: u32,
    /// The snapshot id (`--snapshot`).
    pub snapshot_id: String,
    /// When the first run of this snapshot started (RFC 3339, UTC).
    pub started_at: String,
    /// When the last run ended, if it ended.
    pub finished_at: Option<String>,
    /// True once every input domain has a row.
    pub complete: bool,
    /// How many runs (the first plus resumes) wrote this snapshot.
    pub runs: u32,
    /// Resolvers queried.
    pub resolvers: Vec<ResolverInfo>,
    /// Limits in force (rates, timeouts, concurrency), as the crawl reports them.
    pub limits: serde_json::Value,
    /// The Public Suffix List used.
    pub psl: Option<PslInfo>,
    /// The inputs.
    pub inputs: Vec<InputInfo>,
    /// Domains by `domain_status` in the closed part files.
    pub domain_status_counts: BTreeMap<String, u64>,
    /// Rows in the closed part files.
    pub rows: u64,
    /// The closed part files.
    pub parts: Vec<PartInfo>,
    /// File (inside the snapshot directory) listing rejected input lines.
    pub rejected_file: Option<String>,
    /// Rejected input lines.
    pub rejected_lines: u64,
    /// The shard this manifest covers; absent for an unsharded snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
}

impl Manifest {
    /// A new manifest for a run starting now.
    pub fn new(tool_version: &str, snapshot_id: &str) -> Self {
        Manifest {
            tool_version: tool_version.to_string(),
            schema_version: crate::schema::SCHEMA_VERSION,
            snapshot_id: snapshot_id.to_string(),
            started_at: rfc3339_now(),
            finished_at: None,
            complete: false,
            runs: 1,
            resolvers: Vec::new(),
            limits: serde_json::Value::Null,
            psl: None,
            inputs: Vec::new(),
            domain_status_counts: BTreeMap::new(),
            rows: 0,
            parts: Vec::new(),
            rejected_file: None,
            rejected_lines: 0,
            shard: None,
        }
    }

    /// Reads `manifest.json` of a snapshot directory, if present.
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed.
    pub fn read(snapshot_dir: &Path) -> Result<Option<Self>, StoreError> {
        let path = snapshot_dir.join(MANIFEST_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StoreError::Manifest { path, source })
    }

    /// Parses manifest bytes (`what` names the file in errors).
    ///
    /// # Errors
    /// The bytes are not a manifest.
    pub fn from_slice(bytes: &[u8], what: &Path) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Manifest {
            path: what.to_path_buf(),
            source,
        })
    }

    /// Writes `manifest.json` atomically.
    ///
    /// # Errors
    /// Writing failed (the error names the path).
    pub fn write(&self, snapshot_dir: &Path) -> Result<(), StoreError> {
        let path = snapshot_dir.join(MANIFEST_FILE);
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|source| StoreError::Manifest {
            path: path.clone(),
            source,
        })?;
        bytes.push(b'\n');
        layout::write_atomic(&path, &bytes)
    }
}

/// The current time as RFC 3339 UTC with second precision.
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

/// Today's UTC date as `YYYY-MM-DD` (the default snapshot id).
pub fn utc_date_today() -> String {
    rfc3339_now()[..10].to_string()
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn rfc3339(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let rem = unix_secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_300_000), "2026-11-21T22:26:40Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn manifest_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), None);
        let mut m = Manifest::new("0.1.0", "2026-11-22");
        m.domain_status_counts.insert("ok".into(), 3);
        m.write(dir.path()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), Some(m));
    }
}
