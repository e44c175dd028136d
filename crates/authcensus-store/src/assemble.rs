//! A snapshot put back together from its shards.
//!
//! A sharded crawl leaves `snapshot=<ID>/shard=<K>/` for each K in `0..N`,
//! each with its own `manifest.json` recording K and N. Before any figure is
//! computed, [`snapshot_files`] (local directory) or
//! [`crate::RemoteStore::snapshot_files`] (object store) lists the part files
//! of every shard and checks that the snapshot is whole: every K in `0..N`
//! has a manifest saying `complete: true` and every part it lists is there.
//! Otherwise the answer is [`StoreError::Incomplete`], naming the missing and
//! the unfinished shards, never a partial file list.
//!
//! An unsharded snapshot (`snapshot=<ID>/part-*.parquet`) goes through the
//! same check with its single manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::StoreError;
use crate::layout::{self, MANIFEST_FILE};
use crate::manifest::Manifest;

/// The files of a whole snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotFiles {
    /// The snapshot directory or URL.
    pub location: String,
    /// N for a sharded snapshot, `None` for an unsharded one.
    pub shard_count: Option<u64>,
    /// Every part file, relative to the snapshot (`shard=2/part-00000.parquet`
    /// or `part-00000.parquet`), sorted: exactly the parts the manifests list.
    pub parts: Vec<String>,
    /// The manifests: one per shard in shard order, or the single one.
    pub manifests: Vec<Manifest>,
}

impl SnapshotFiles {
    /// Rows over all parts, as the manifests count them.
    pub fn rows(&self) -> u64 {
        self.manifests.iter().map(|m| m.rows).sum()
    }

    /// The part files as paths under a local snapshot directory.
    pub fn part_paths(&self, snapshot_dir: &Path) -> Vec<PathBuf> {
        self.parts.iter().map(|p| snapshot_dir.join(p)).collect()
    }
}

/// Lists and checks a local snapshot directory (see the module docs).
///
/// # Errors
/// [`StoreError::Incomplete`] for a missing or unfinished shard; I/O or
/// manifest errors; [`StoreError::Format`] for an inconsistent layout.
pub fn snapshot_files(snapshot_dir: &Path) -> Result<SnapshotFiles, StoreError> {
    let mut files = Vec::new();
    for entry in layout::list_dir(snapshot_dir)? {
        let Some(name) = entry.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if entry.is_dir() {
            if layout::shard_number(name).is_some() {
                for inner in layout::list_dir(&entry)? {
                    if let Some(n) = inner.file_name().and_then(|n| n.to_str()) {
                        files.push(format!("{name}/{n}"));
                    }
                }
            }
        } else {
            files.push(name.to_string());
        }
    }
    assemble(&snapshot_dir.display().to_string(), &files, |rel| {
        let dir = match rel.rsplit_once('/') {
            Some((d, _)) => snapshot_dir.join(d),
            None => snapshot_dir.to_path_buf(),
        };
        Manifest::read(&dir)
    })
}

/// The check itself, over a listing of file names relative to the snapshot
/// (`shard=K/name` or `name`) and a reader of manifests by relative path
/// (`Ok(None)` when absent). Used for local directories and object stores.
///
/// # Errors
/// As [`snapshot_files`].
pub fn assemble(
    location: &str,
    files: &[String],
    mut read_manifest: impl FnMut(&str) -> Result<Option<Manifest>, StoreError>,
) -> Result<SnapshotFiles, StoreError> {
    let format_err = |m: String| StoreError::format(Path::new(location), m);
    // Closed parts and manifests, by shard (None: top level).
    let mut present: BTreeMap<Option<u64>, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let (shard, name) = match f.split_once('/') {
            Some((dir, name)) => match layout::shard_number(dir) {
                Some(k) if !name.contains('/') => (Some(k), name),
                _ => continue,
            },
            None => (None, f.as_str()),
        };
        if layout::part_number(name).is_some() || name == MANIFEST_FILE {
            present.entry(shard).or_default().insert(name.to_string());
        }
    }
    let sharded: BTreeSet<u64> = present.keys().flatten().copied().collect();
    let has =
        |shard: Option<u64>, name: &str| present.get(&shard).is_some_and(|s| s.contains(name));
    let rel = |shard: Option<u64>, name: &str| match shard {
        Some(k) => format!("{}{k}/{name}", layout::SHARD_PREFIX),
        None => name.to_string(),
    };

    if sharded.is_empty() {
        let incomplete = |detail: &str| StoreError::Incomplete {
            snapshot: location.to_string(),
            count: 1,
            done: 0,
            missing: Vec::new(),
            unfinished: Vec::new(),
            detail: detail.to_string(),
        };
        let m = if has(None, MANIFEST_FILE) {
            read_manifest(MANIFEST_FILE)?
        } else {
            None
        };
        let Some(m) = m else {
            return Err(incomplete(
                "no manifest.json: the crawl never started here or this is not a snapshot",
            ));
        };
        if !m.complete {
            return Err(incomplete(
                "its manifest says complete: false (an interrupted or running crawl)",
            ));
        }
        let missing_parts: Vec<&str> = m
            .parts
            .iter()
            .map(|p| p.file.as_str())
            .filter(|f| !has(None, f))
            .collect();
        if !missing_parts.is_empty() {
            return Err(incomplete(&format!(
                "its manifest lists part files that are not there: {}",
                missing_parts.join(", ")
            )));
        }
        let mut parts: Vec<String> = m.parts.iter().map(|p| p.file.clone()).collect();
        parts.sort();
        return Ok(SnapshotFiles {
            location: location.to_string(),
            shard_count: None,
            parts,
            manifests: vec![m],
        });
    }
    if present
        .get(&None)
        .is_some_and(|s| s.iter().any(|n| n != MANIFEST_FILE))
    {
        return Err(format_err(
            "holds both unsharded part files and shard=K/ directories".into(),
        ));
    }

    let mut manifests: BTreeMap<u64, Manifest> = BTreeMap::new();
    for &k in &sharded {
        if !has(Some(k), MANIFEST_FILE) {
            continue;
        }
        if let Some(m) = read_manifest(&rel(Some(k), MANIFEST_FILE))? {
            match &m.shard {
                Some(info) if info.index == k => {}
                Some(info) => {
                    return Err(format_err(format!(
                        "shard={k}/manifest.json says it is shard {} of {}",
                        info.index, info.count
                    )));
                }
                None => {
                    return Err(format_err(format!(
                        "shard={k}/manifest.json records no shard"
                    )));
                }
            }
            manifests.insert(k, m);
        }
    }
    let counts: BTreeSet<u64> = manifests
        .values()
        .filter_map(|m| m.shard.as_ref().map(|s| s.count))
        .collect();
    if counts.len() > 1 {
        let list: Vec<String> = counts.iter().map(u64::to_string).collect();
        return Err(format_err(format!(
            "its shards disagree on the number of shards ({})",
            list.join(" vs ")
        )));
    }
    let Some(&count) = counts.iter().next() else {
        let list: Vec<String> = sharded.iter().map(u64::to_string).collect();
        return Err(StoreError::Incomplete {
            snapshot: location.to_string(),
            count: 0,
            done: 0,
            missing: Vec::new(),
            unfinished: sharded.iter().copied().collect(),
            detail: format!(
                "no shard has a manifest yet (shard directories {} hold only part files), so not even the number of shards is known",
                list.join(", ")
            ),
        });
    };
    if let Some(k) = sharded.iter().find(|&&k| k >= count) {
        return Err(format_err(format!(
            "has shard={k} but its manifests say there are {count} shards (0..{count})"
        )));
    }
    let mut missing = Vec::new();
    let mut unfinished = Vec::new();
    let mut why = Vec::new();
    let mut parts = Vec::new();
    for k in 0..count {
        let Some(m) = manifests.get(&k) else {
            missing.push(k);
            continue;
        };
        let absent: Vec<&str> = m
            .parts
            .iter()
            .map(|p| p.file.as_str())
            .filter(|f| !has(Some(k), f))
            .collect();
        if !m.complete {
            unfinished.push(k);
            why.push(format!("shard {k} says complete: false"));
        } else if !absent.is_empty() {
            unfinished.push(k);
            why.push(format!(
                "shard {k} lacks the part files its manifest lists ({})",
                absent.join(", ")
            ));
        } else {
            parts.extend(m.parts.iter().map(|p| rel(Some(k), &p.file)));
        }
    }
    if !missing.is_empty() || !unfinished.is_empty() {
        let mut detail = Vec::new();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(u64::to_string).collect();
            detail.push(format!(
                "shard {} of 0..{count} missing (no manifest: never run, still running or killed)",
                list.join(", ")
            ));
        }
        detail.extend(why);
        return Err(StoreError::Incomplete {
            snapshot: location.to_string(),
            count,
            done: count - missing.len() as u64 - unfinished.len() as u64,
            missing,
            unfinished,
            detail: detail.join("; "),
        });
    }
    parts.sort();
    Ok(SnapshotFiles {
        location: location.to_string(),
        shard_count: Some(count),
        parts,
        manifests: manifests.into_values().collect(),
    })
}
