//! `report`, `diff` and `trend` on snapshots in object storage.
//!
//! A SNAPSHOT argument may be a URL (`s3://bucket/prefix/snapshot=ID`, or a
//! root `s3://bucket/prefix` holding snapshots; `gs://`, `az://`,
//! `file://` likewise, configured from the environment as for
//! `crawl --out`). The snapshot is checked as a local one is, refusing a
//! missing or unfinished shard by name before anything is fetched, then its
//! manifests and parts are downloaded into a temporary directory (under
//! `TMPDIR`, removed on exit) with the same layout, and the report reads
//! that.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use authcensus_store::RemoteStore;
use authcensus_store::layout::SNAPSHOT_PREFIX;
use authcensus_store::remote::is_url;

/// A snapshot (or root) on the local disk, downloaded when it was a URL.
pub(crate) struct Local {
    /// The directory to read.
    pub path: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

/// Which snapshots of a root URL to fetch.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// One snapshot: a snapshot URL, or a root holding exactly one.
    One,
    /// Every snapshot under a root (for `trend`).
    All,
}

/// `arg` itself when it is a local path; else the snapshot(s) it names,
/// downloaded.
pub(crate) fn localize(arg: &Path, want: Want) -> anyhow::Result<Local> {
    let Some(url) = arg.to_str().filter(|s| is_url(s)) else {
        return Ok(Local {
            path: arg.to_path_buf(),
            _tmp: None,
        });
    };
    let url = url.trim_end_matches('/');
    let (root, named) = match url.rsplit_once('/') {
        Some((root, last)) if last.starts_with(SNAPSHOT_PREFIX) => {
            (root, Some(last[SNAPSHOT_PREFIX.len()..].to_string()))
        }
        _ => (url, None),
    };
    let store = RemoteStore::open(root)?;
    let ids = match named {
        Some(id) => vec![id],
        None => store
            .snapshot_ids()
            .with_context(|| format!("listing the snapshots under {root}"))?,
    };
    match (want, ids.len()) {
        (_, 0) => bail!("no snapshot=<ID> folder under {root}"),
        (Want::One, n) if n > 1 => bail!(
            "{root} holds {n} snapshots ({}); name one: {root}/{SNAPSHOT_PREFIX}<ID>",
            ids.join(", ")
        ),
        _ => {}
    }
    let tmp = tempfile::Builder::new()
        .prefix("authcensus-remote-")
        .tempdir()
        .context("creating a temporary directory for the download")?;
    for id in &ids {
        let files = store.download_snapshot(id, tmp.path())?;
        tracing::info!(
            snapshot = %id,
            parts = files.parts.len(),
            rows = files.rows(),
            "downloaded {root}/{SNAPSHOT_PREFIX}{id} into {}",
            tmp.path().display()
        );
    }
    let path = match want {
        Want::One => tmp.path().join(format!("{SNAPSHOT_PREFIX}{}", ids[0])),
        Want::All => tmp.path().to_path_buf(),
    };
    Ok(Local {
        path,
        _tmp: Some(tmp),
    })
}
