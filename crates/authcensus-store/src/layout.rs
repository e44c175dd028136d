//! The on-disk layout of snapshots (Hive-style partitions):
//!
//! ```text
//! <out>/snapshot=<ID>/part-00000.parquet
//! <out>/snapshot=<ID>/part-00001.parquet
//! <out>/snapshot=<ID>/manifest.json
//! <out>/snapshot=<ID>/rejected.csv
//! ```
//!
//! A sharded crawl (`--shard K/N`, or the shard taken from a Kubernetes
//! Indexed Job or a Slurm array) writes one sub-partition per shard, each
//! with its own manifest:
//!
//! ```text
//! <out>/snapshot=<ID>/shard=<K>/part-00000.parquet
//! <out>/snapshot=<ID>/shard=<K>/manifest.json
//! <out>/snapshot=<ID>/shard=<K>/rejected.csv
//! ```
//!
//! and [`crate::assemble`] puts the shards back together (refusing a
//! snapshot with a missing or unfinished shard). `<out>` may also be an
//! object store URL (`s3://bucket/prefix`, see [`crate::remote`]).
//!
//! DuckDB reads every snapshot with
//! `read_parquet('<out>/*/*.parquet', hive_partitioning = true)`, which adds a
//! `snapshot` column from the directory name. Temporary files start with a
//! dot and end in `.tmp`, so that glob never matches them.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::StoreError;

/// Prefix of part file names.
pub const PART_PREFIX: &str = "part-";
/// Name of the run manifest inside a snapshot directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Name of the rejected-input-lines file inside a snapshot directory.
pub const REJECTED_FILE: &str = "rejected.csv";
/// Directory-name prefix of a snapshot partition.
pub const SNAPSHOT_PREFIX: &str = "snapshot=";

/// Directory-name prefix of a shard partition inside a snapshot.
pub const SHARD_PREFIX: &str = "shard=";

/// `<snapshot dir>/shard=<index>`.
pub fn shard_dir(snapshot_dir: &Path, index: u64) -> PathBuf {
    snapshot_dir.join(format!("{SHARD_PREFIX}{index}"))
}

/// The shard index of a directory name (`shard=3` → 3).
pub fn shard_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(SHARD_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The directory a run writes: `<out>/snapshot=<id>`, or
/// `<out>/snapshot=<id>/shard=<k>` for shard `k`.
pub fn run_dir(out: &Path, snapshot_id: &str, shard: Option<u64>) -> PathBuf {
    let dir = snapshot_dir(out, snapshot_id);
    match shard {
        Some(k) => shard_dir(&dir, k),
        None => dir,
    }
}

/// `<out>/snapshot=<id>`.
pub fn snapshot_dir(out: &Path, snapshot_id: &str) -> PathBuf {
    out.join(format!("{SNAPSHOT_PREFIX}{snapshot_id}"))
}

/// True for a temporary file left by an interrupted write.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// The number of a closed part file name (`part-00042.parquet` → 42).
pub fn part_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix(PART_PREFIX)?.strip_suffix(".parquet")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The entries of a directory, sorted by name.
///
/// # Errors
/// The directory cannot be read.
pub fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        out.push(entry.map_err(|e| StoreError::io(dir, e))?.path());
    }
    out.sort();
    Ok(out)
}

/// The closed part files of a snapshot directory, sorted.
///
/// # Errors
/// The directory cannot be read.
pub fn part_files(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    Ok(list_dir(dir)?
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| part_number(n).is_some())
        })
        .collect())
}

/// Best-effort fsync of a directory so a rename inside it is durable.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, synced, then renamed over `path`.
///
/// # Errors
/// Any step failed; the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let result = (|| {
        use std::io::Write;
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io(path, e));
    }
    sync_dir(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(part_number("part-00042.parquet"), Some(42));
        assert_eq!(part_number("part-.parquet"), None);
        assert_eq!(part_number(".part-00001.parquet.tmp"), None);
        assert_eq!(part_number("part-1x.parquet"), None);
        assert!(is_temporary(".part-00001.parquet.tmp"));
        assert_eq!(shard_number("shard=12"), Some(12));
        assert_eq!(shard_number("shard="), None);
        assert_eq!(shard_number("shard=-1"), None);
        assert_eq!(
            run_dir(Path::new("out"), "s", Some(3)),
            Path::new("out/snapshot=s/shard=3")
        );
        assert_eq!(
            run_dir(Path::new("out"), "s", None),
            Path::new("out/snapshot=s")
        );
        assert!(!is_temporary("part-00001.parquet"));
        assert_eq!(
            snapshot_dir(Path::new("out"), "2026-11-22"),
            Path::new("out/snapshot=2026-11-22")
        );
    }
}
