//! Snapshots on object storage: `--out s3://bucket/prefix` (also `gs://`,
//! `az://` and `file://`, through the `object_store` crate).
//!
//! The writer stays a local, synchronous writer: parts are written to a
//! local staging directory exactly as for a directory output, and each
//! closed part is then uploaded with a multipart upload
//! ([`RemoteStore::part_uploader`]), which an S3-compatible store makes
//! visible only when the upload completes, so a reader never sees half a
//! file. The run's `rejected.csv` and last its `manifest.json` are uploaded
//! when the crawl ends: a shard without a manifest is unfinished.
//!
//! Resume on another machine: [`RemoteStore::sync_run_dir`] lists the parts
//! already uploaded under the run's prefix and downloads those the staging
//! directory lacks, so the writer reads their `domain` column and the crawl
//! skips those domains exactly as after a local restart; it also uploads
//! closed local parts whose upload was cut short.
//!
//! Credentials and endpoint come from the store's standard environment
//! variables: for S3 `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL` (an S3-compatible
//! server) and `AWS_ALLOW_HTTP=true` (plain HTTP, e.g. a loopback server);
//! for GCS `GOOGLE_SERVICE_ACCOUNT` / `GOOGLE_APPLICATION_CREDENTIALS`; for
//! Azure `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY` and friends.
//!
//! The object store client is asynchronous; [`RemoteStore`] runs it on its
//! own thread with its own small runtime and offers blocking calls, usable
//! from the writer thread and from inside another runtime alike.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, ObjectStoreScheme, PutPayload, WriteMultipart};

use crate::assemble::SnapshotFiles;
use crate::error::StoreError;
use crate::layout::{self, MANIFEST_FILE};
use crate::manifest::Manifest;
use crate::writer::{PartHook, PartInfo};

/// Size of each part of a multipart upload (S3 needs at least 5 MiB for all
/// but the last part).
pub const MULTIPART_CHUNK: usize = 8 << 20;

/// Parts of one multipart upload in flight at once.
const UPLOAD_CONCURRENCY: usize = 4;

/// True when `out` names an object store (`scheme://…`) rather than a directory.
pub fn is_url(out: &str) -> bool {
    out.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

type Job = Box<dyn FnOnce(&tokio::runtime::Runtime) + Send>;

/// An object store prefix (`s3://bucket/prefix`) with blocking operations.
pub struct RemoteStore {
    url: String,
    prefix: ObjectPath,
    store: Arc<dyn ObjectStore>,
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStore")
            .field("url", &self.url)
            .finish()
    }
}

/// What [`RemoteStore::sync_run_dir`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// Parts (and a manifest) downloaded into the staging directory.
    pub downloaded: Vec<String>,
    /// Closed local parts uploaded because the store lacked them.
    pub uploaded: Vec<String>,
}

impl RemoteStore {
    /// Opens `url`: `s3://bucket[/prefix]`, `gs://bucket[/prefix]`,
    /// `az://container[/prefix]` (or the `abfs`/`https` forms the
    /// `object_store` crate knows) or `file:///absolute/path`, configured
    /// from the environment (see the module docs).
    ///
    /// # Errors
    /// The URL is malformed, of an unsupported scheme, or the store cannot
    /// be configured from the environment.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, &[])
    }

    /// As [`RemoteStore::open`], with configuration pairs applied over the
    /// environment's, named as the variables are without their prefix or in
    /// lower case (`aws_endpoint_url`, `aws_allow_http`, `aws_region`, …,
    /// see the `object_store` builders' config keys).
    ///
    /// # Errors
    /// As [`RemoteStore::open`], or an unknown configuration key.
    pub fn open_with(url: &str, config: &[(&str, &str)]) -> Result<Self, StoreError> {
        let url_err = |message: String| StoreError::Url {
            url: url.to_string(),
            message,
        };
        let trimmed = url.trim_end_matches('/');
        let parsed = url::Url::parse(trimmed).map_err(|e| url_err(e.to_string()))?;
        let (scheme, path) = ObjectStoreScheme::parse(&parsed).map_err(|e| {
            url_err(format!(
                "{e}: use s3://bucket/prefix, gs://bucket/prefix, az://container/prefix or file:///path"
            ))
        })?;
        let remote = |source| StoreError::Remote {
            url: trimmed.to_string(),
            source,
        };
        let store: Arc<dyn ObjectStore> = match scheme {
            ObjectStoreScheme::Local => Arc::new(object_store::local::LocalFileSystem::new()),
            ObjectStoreScheme::AmazonS3 => {
                let mut b = object_store::aws::AmazonS3Builder::from_env().with_url(trimmed);
                for (k, v) in config {
                    b = b.with_config(k.parse().map_err(remote)?, *v);
                }
                Arc::new(b.build().map_err(remote)?)
            }
            ObjectStoreScheme::GoogleCloudStorage => {
                let mut b =
                    object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(trimmed);
                for (k, v) in config {
                    b = b.with_config(k.parse().map_err(remote)?, *v);
                }
                Arc::new(b.build().map_err(remote)?)
            }
            ObjectStoreScheme::MicrosoftAzure => {
                let mut b =
                    object_store::azure::MicrosoftAzureBuilder::from_env().with_url(trimmed);
                for (k, v) in config {
                    b = b.with_config(k.parse().map_err(remote)?, *v);
                }
                Arc::new(b.build().map_err(remote)?)
            }
            other => {
                return Err(url_err(format!(
                    "unsupported object store ({other:?}): use s3://, gs://, az:// or file://"
                )));
            }
        };
        let prefix = ObjectPath::parse(path).map_err(|e| url_err(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::io(Path::new(trimmed), e))?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("authcensus-object-store".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&runtime);
                }
            })
            .map_err(|e| StoreError::io(Path::new(trimmed), e))?;
        Ok(RemoteStore {
            url: trimmed.to_string(),
            prefix,
            store,
            jobs,
        })
    }

    /// The URL of the prefix (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL of `rel` under the prefix.
    pub fn url_of(&self, rel: &str) -> String {
        format!("{}/{rel}", self.url)
    }

    fn path_of(&self, rel: &str) -> ObjectPath {
        let mut path = self.prefix.clone();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            path = path.clone().join(part);
        }
        path
    }

    fn remote_err(&self, rel: &str) -> impl Fn(object_store::Error) -> StoreError + use<> {
        let url = self.url_of(rel);
        move |source| StoreError::Remote {
            url: url.clone(),
            source,
        }
    }

    /// Runs `fut` on the store's thread and waits for it.
    fn run<T, F>(&self, fut: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let gone = || StoreError::Url {
            url: self.url.clone(),
            message: "the object store thread stopped".into(),
        };
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |rt| {
            let _ = tx.send(rt.block_on(fut));
        });
        self.jobs.send(job).map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())?
    }

    /// Every object under `rel_dir` (recursively): name relative to
    /// `rel_dir` → size in bytes.
    ///
    /// # Errors
    /// Listing failed.
    pub fn list(&self, rel_dir: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let store = Arc::clone(&self.store);
        let base = self.path_of(rel_dir);
        let err = self.remote_err(rel_dir);
        self.run(async move {
            let metas: Vec<_> = store.list(Some(&base)).try_collect().await.map_err(err)?;
            let mut out = BTreeMap::new();
            for m in metas {
                let rel: Vec<String> = match m.location.prefix_match(&base) {
                    Some(parts) => parts.map(|p| p.as_ref().to_string()).collect(),
                    None => continue,
                };
                if !rel.is_empty() {
                    out.insert(rel.join("/"), m.size);
                }
            }
            Ok(out)
        })
    }

    /// The snapshot ids under the prefix (its `snapshot=<ID>/` folders), sorted.
    ///
    /// # Errors
    /// Listing failed.
    pub fn snapshot_ids(&self) -> Result<Vec<String>, StoreError> {
        let store = Arc::clone(&self.store);
        let base = self.path_of("");
        let err = self.remote_err("");
        self.run(async move {
            let listed = store.list_with_delimiter(Some(&base)).await.map_err(err)?;
            let mut ids: Vec<String> = listed
                .common_prefixes
                .iter()
                .filter_map(|p| p.filename())
                .filter_map(|name| name.strip_prefix(layout::SNAPSHOT_PREFIX))
                .map(str::to_string)
                .collect();
            ids.sort();
            Ok(ids)
        })
    }

    /// The bytes of `rel`, `None` when there is no such object.
    ///
    /// # Errors
    /// Reading failed for another reason.
    pub fn get(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let store = Arc::clone(&self.store);
        let path = self.path_of(rel);
        let err = self.remote_err(rel);
        self.run(async move {
            match store.get(&path).await {
                Ok(r) => Ok(Some(r.bytes().await.map_err(err)?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(err(e)),
            }
        })
    }

    /// Stores `bytes` as `rel` with a single PUT (atomic: small files such
    /// as the manifest).
    ///
    /// # Errors
    /// The upload failed.
    pub fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let store = Arc::clone(&self.store);
        let path = self.path_of(rel);
        let err = self.remote_err(rel);
        self.run(async move {
            store
                .put(&path, PutPayload::from(bytes))
                .await
                .map_err(err)?;
            Ok(())
        })
    }

    /// Uploads the file `from` as `rel` with a multipart upload: the object
    /// appears only when every part is in and the upload completes; a failed
    /// upload is aborted.
    ///
    /// # Errors
    /// Reading the file or the upload failed.
    pub fn upload_file(&self, from: &Path, rel: &str) -> Result<(), StoreError> {
        let store = Arc::clone(&self.store);
        let path = self.path_of(rel);
        let err = self.remote_err(rel);
        let from = from.to_path_buf();
        self.run(async move {
            let mut file = std::fs::File::open(&from).map_err(|e| StoreError::io(&from, e))?;
            let upload = store.put_multipart(&path).await.map_err(&err)?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, MULTIPART_CHUNK);
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = match file.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(StoreError::io(&from, e));
                    }
                };
                if n == 0 {
                    break;
                }
                if let Err(e) = writer.wait_for_capacity(UPLOAD_CONCURRENCY).await {
                    let _ = writer.abort().await;
                    return Err(err(e));
                }
                writer.write(buf.get(..n).unwrap_or_default());
            }
            writer.finish().await.map_err(&err)?;
            Ok(())
        })
    }

    /// Downloads `rel` to the local file `to` (through a temporary file in
    /// the same directory, renamed into place).
    ///
    /// # Errors
    /// The download or the local write failed.
    pub fn download(&self, rel: &str, to: &Path) -> Result<(), StoreError> {
        let Some(bytes) = self.get(rel)? else {
            return Err(StoreError::Url {
                url: self.url_of(rel),
                message: "no such object".into(),
            });
        };
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        layout::write_atomic(to, &bytes)
    }

    /// A writer hook uploading each closed part to `rel_dir/<part name>`.
    pub fn part_uploader(self: &Arc<Self>, rel_dir: &str) -> PartHook {
        let me = Arc::clone(self);
        let rel_dir = rel_dir.trim_end_matches('/').to_string();
        PartHook(Arc::new(move |path: &Path, info: &PartInfo| {
            me.upload_file(path, &format!("{rel_dir}/{}", info.file))
        }))
    }

    /// Brings the staging directory `local_dir` of a run and the store's
    /// `rel_dir` in line before the crawl starts (see the module docs): parts
    /// in the store that the staging directory lacks (or holds with another
    /// size) are downloaded, and so is the store's manifest when the staging
    /// directory has none; closed local parts that the store lacks are
    /// uploaded.
    ///
    /// # Errors
    /// Listing, a download or an upload failed.
    pub fn sync_run_dir(&self, rel_dir: &str, local_dir: &Path) -> Result<SyncReport, StoreError> {
        std::fs::create_dir_all(local_dir).map_err(|e| StoreError::io(local_dir, e))?;
        let remote = self.list(rel_dir)?;
        let mut report = SyncReport::default();
        for (name, size) in &remote {
            let is_part = layout::part_number(name).is_some();
            let local = local_dir.join(name);
            let local_size = std::fs::metadata(&local).ok().map(|m| m.len());
            let fetch = if is_part {
                local_size != Some(*size)
            } else {
                name == MANIFEST_FILE && local_size.is_none()
            };
            if fetch {
                self.download(&format!("{rel_dir}/{name}"), &local)?;
                report.downloaded.push(name.clone());
            }
        }
        for path in layout::part_files(local_dir)? {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !remote.contains_key(name) {
                self.upload_file(&path, &format!("{rel_dir}/{name}"))?;
                report.uploaded.push(name.to_string());
            }
        }
        Ok(report)
    }

    /// Lists and checks the snapshot `snapshot_id` under the prefix, as
    /// [`crate::assemble::snapshot_files`] does for a directory.
    ///
    /// # Errors
    /// [`StoreError::Incomplete`] for a missing or unfinished shard, or a
    /// store error.
    pub fn snapshot_files(&self, snapshot_id: &str) -> Result<SnapshotFiles, StoreError> {
        let rel_dir = format!("{}{snapshot_id}", layout::SNAPSHOT_PREFIX);
        let files: Vec<String> = self.list(&rel_dir)?.into_keys().collect();
        crate::assemble::assemble(&self.url_of(&rel_dir), &files, |rel| {
            let full = format!("{rel_dir}/{rel}");
            match self.get(&full)? {
                Some(bytes) => {
                    Manifest::from_slice(&bytes, Path::new(&self.url_of(&full))).map(Some)
                }
                None => Ok(None),
            }
        })
    }

    /// Checks the snapshot as [`RemoteStore::snapshot_files`] does, then
    /// downloads its manifests and parts into `<to>/snapshot=<ID>/` with the
    /// same layout (for engines without object store access).
    ///
    /// # Errors
    /// As [`RemoteStore::snapshot_files`], or a failed download.
    pub fn download_snapshot(
        &self,
        snapshot_id: &str,
        to: &Path,
    ) -> Result<SnapshotFiles, StoreError> {
        let files = self.snapshot_files(snapshot_id)?;
        let rel_dir = format!("{}{snapshot_id}", layout::SNAPSHOT_PREFIX);
        let local = layout::snapshot_dir(to, snapshot_id);
        let manifests: Vec<String> = match files.shard_count {
            Some(n) => (0..n)
                .map(|k| format!("{}{k}/{MANIFEST_FILE}", layout::SHARD_PREFIX))
                .collect(),
            None => vec![MANIFEST_FILE.to_string()],
        };
        for rel in files.parts.iter().chain(&manifests) {
            self.download(&format!("{rel_dir}/{rel}"), &local.join(rel))?;
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_directories() {
        assert!(is_url("s3://bucket/prefix"));
        assert!(is_url("file:///tmp/x"));
        assert!(is_url("gs://b"));
        assert!(!is_url("snapshots"));
        assert!(!is_url("./a://b"));
        assert!(!is_url("/tmp/x"));
        let e = RemoteStore::open("ftp://host/x").unwrap_err().to_string();
        assert!(
            e.contains("ftp://host/x") && e.contains("use s3://bucket/prefix"),
            "{e}"
        );
    }
}
