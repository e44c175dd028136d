//! Finding a snapshot's part files, checking their schema version, and
//! registering them as a DataFusion table.
//!
//! Accepted paths: a snapshot directory (`ROOT/snapshot=<ID>`, unsharded or
//! sharded into `shard=<K>/` directories, or any directory holding
//! `part-NNNNN.parquet` files without a manifest, such as a testbed's
//! `truth/`), a root holding exactly one `snapshot=<ID>` directory, or one
//! part file.
//!
//! A directory with a crawl manifest or shard directories goes through
//! [`authcensus_store::snapshot_files`] first: a snapshot with a missing
//! shard, a shard whose crawl has not finished, or an unfinished unsharded
//! crawl is refused with the shards named, never reported on in part
//! (issue 11: figures over 7 of 8 shards would look plausible and be wrong).
//!
//! Every part file's footer is then read: a file without the
//! `authcensus.schema_version` key, or with a version other than
//! [`authcensus_store::schema::SCHEMA_VERSION`], is refused by name before any
//! query runs.

use std::fs::File;
use std::path::{Path, PathBuf};

use authcensus_store::layout;
use authcensus_store::schema::{self, META_SCHEMA_VERSION, META_SNAPSHOT_ID, SCHEMA_VERSION};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::ReportError;

/// Schema versions this report reads.
pub const SUPPORTED_SCHEMA_VERSIONS: &[u32] = &[SCHEMA_VERSION];

/// One snapshot on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Snapshot id: the `snapshot=<ID>` directory name, else the files'
    /// `authcensus.snapshot_id` metadata, else the directory name.
    pub id: String,
    /// The directory (or file) given.
    pub path: PathBuf,
    /// Its part files, sorted.
    pub parts: Vec<PathBuf>,
    /// Schema version read from the files' metadata.
    pub schema_version: u32,
}

fn io(path: &Path, source: std::io::Error) -> ReportError {
    ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn snap_err(path: &Path, message: impl Into<String>) -> ReportError {
    ReportError::Snapshot {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads one part file's footer: (schema version, snapshot id).
///
/// # Errors
/// The file cannot be read, is not Parquet, carries no schema version, or a
/// version this report does not read.
pub fn check_part(path: &Path) -> Result<(u32, Option<String>), ReportError> {
    let file = File::open(path).map_err(|e| io(path, e))?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| snap_err(path, format!("not a readable Parquet file: {e}")))?;
    let kv = reader.metadata().file_metadata().key_value_metadata();
    let get = |key: &str| {
        kv.and_then(|kv| kv.iter().find(|k| k.key == key))
            .and_then(|k| k.value.clone())
    };
    let Some(version) = get(META_SCHEMA_VERSION) else {
        return Err(snap_err(
            path,
            format!("not an authcensus snapshot file (no `{META_SCHEMA_VERSION}` metadata)"),
        ));
    };
    let parsed: Option<u32> = version.trim().parse().ok();
    match parsed {
        Some(v) if SUPPORTED_SCHEMA_VERSIONS.contains(&v) => Ok((v, get(META_SNAPSHOT_ID))),
        _ => Err(snap_err(
            path,
            format!(
                "snapshot schema version {version} is not supported: this authcensus reports on schema version {SCHEMA_VERSION} (see the schema changelog in crates/authcensus-store/README.md; re-crawl or use a matching authcensus)"
            ),
        )),
    }
}

fn snapshot_subdirs(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    Ok(layout::list_dir(dir)
        .map_err(|e| snap_err(dir, e.to_string()))?
        .into_iter()
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(layout::SNAPSHOT_PREFIX))
        })
        .collect())
}

/// True when `dir` was written by a crawl: it has a manifest or `shard=K`
/// directories, so the store's completeness check applies.
fn is_crawl_output(dir: &Path) -> Result<bool, ReportError> {
    if dir.join(layout::MANIFEST_FILE).is_file() {
        return Ok(true);
    }
    Ok(layout::list_dir(dir)
        .map_err(|e| snap_err(dir, e.to_string()))?
        .iter()
        .any(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| layout::shard_number(n).is_some())
        }))
}

/// Opens the snapshot at `path` (see the module docs for accepted paths).
///
/// # Errors
/// Nothing readable there, several snapshots under a root, or a part file
/// refused by [`check_part`].
pub fn open_snapshot(path: &Path) -> Result<Snapshot, ReportError> {
    let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
    let parts = if meta.is_file() {
        vec![path.to_path_buf()]
    } else {
        let parts = if is_crawl_output(path)? {
            authcensus_store::snapshot_files(path)
                .map_err(|e| snap_err(path, e.to_string()))?
                .part_paths(path)
        } else {
            layout::part_files(path).map_err(|e| snap_err(path, e.to_string()))?
        };
        if parts.is_empty() {
            let subs = snapshot_subdirs(path)?;
            match subs.as_slice() {
                [one] => return open_snapshot(one),
                [] => {
                    return Err(snap_err(
                        path,
                        "no part-NNNNN.parquet files and no snapshot=<ID> directory here",
                    ));
                }
                many => {
                    return Err(snap_err(
                        path,
                        format!(
                            "holds {} snapshots; name one of them (e.g. `{}`), or use `authcensus trend` for all",
                            many.len(),
                            many[0].display()
                        ),
                    ));
                }
            }
        }
        parts
    };
    let mut version = SCHEMA_VERSION;
    let mut meta_id = None;
    for part in &parts {
        let (v, id) = check_part(part)?;
        version = v;
        if meta_id.is_none() {
            meta_id = id;
        }
    }
    let dir_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = match dir_name.strip_prefix(layout::SNAPSHOT_PREFIX) {
        Some(id) if meta.is_dir() => id.to_string(),
        _ => meta_id.unwrap_or(dir_name),
    };
    Ok(Snapshot {
        id,
        path: path.to_path_buf(),
        parts,
        schema_version: version,
    })
}

/// Every `snapshot=<ID>` directory under `root`, sorted by id, each opened.
///
/// # Errors
/// No snapshot under `root`, or one that [`open_snapshot`] refuses.
pub fn list_snapshots(root: &Path) -> Result<Vec<Snapshot>, ReportError> {
    let mut out = Vec::new();
    for dir in snapshot_subdirs(root)? {
        out.push(open_snapshot(&dir)?);
    }
    if out.is_empty() {
        return Err(snap_err(root, "no snapshot=<ID> directories here"));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// A DataFusion session for reports.
///
/// DataFusion's options can be set from the environment
/// (`DATAFUSION_EXECUTION_TARGET_PARTITIONS=4`, …, see
/// `SessionConfig::from_env`); an unusable value is ignored with the
/// defaults kept.
pub fn session() -> SessionContext {
    let mut config = SessionConfig::from_env().unwrap_or_default();
    if std::env::var_os("DATAFUSION_EXECUTION_TARGET_PARTITIONS").is_none() {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        config = config.with_target_partitions(threads);
    }
    SessionContext::new_with_config(config)
}

/// Registers `snapshot`'s part files as table `name` with the snapshot schema.
///
/// # Errors
/// DataFusion cannot read the files.
pub async fn register(
    ctx: &SessionContext,
    name: &str,
    snapshot: &Snapshot,
) -> Result<(), ReportError> {
    register_as(ctx, name, snapshot, Strings::View).await
}

/// How string columns are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strings {
    /// `Utf8View`: fastest to decode, filter and group by; used by
    /// everything but joins.
    View,
    /// `Utf8`: for the diff's join. A view array keeps its whole data
    /// buffers alive, so a hash join's build side over views held every
    /// decoded page (5 GB for a 10M-row diff instead of 2 GB).
    Plain,
}

/// Registers `snapshot` as [`register`] does, reading strings as `strings`.
///
/// # Errors
/// DataFusion cannot read the files.
pub async fn register_as(
    ctx: &SessionContext,
    name: &str,
    snapshot: &Snapshot,
    strings: Strings,
) -> Result<(), ReportError> {
    let mut paths = Vec::with_capacity(snapshot.parts.len());
    for p in &snapshot.parts {
        let abs = std::path::absolute(p).map_err(|e| io(p, e))?;
        paths.push(abs.to_string_lossy().into_owned());
    }
    let schema = reading_schema(&schema::snapshot_schema(), strings);
    let df = ctx
        .read_parquet(paths, ParquetReadOptions::default().schema(&schema))
        .await?;
    ctx.register_table(name, df.into_view())?;
    Ok(())
}

/// The table schema the report reads with: the pinned snapshot schema with
/// every column and every list element nullable.
///
/// Our writer marks list elements non-null, but a snapshot rewritten by
/// DuckDB (`COPY … TO 'x.parquet'`) or Spark declares them nullable and
/// names them `element`. Arrow can cast a non-null list to a nullable one
/// but not back, so reading with the strict schema would refuse such files;
/// the queries never depend on non-nullness, so the relaxed schema reads
/// both.
fn reading_schema(
    strict: &datafusion::arrow::datatypes::Schema,
    strings: Strings,
) -> datafusion::arrow::datatypes::SchemaRef {
    use datafusion::arrow::datatypes::{DataType, Field};
    fn relax(f: &Field, strings: Strings) -> Field {
        let dt = match f.data_type() {
            DataType::List(item) => DataType::List(std::sync::Arc::new(relax(item, strings))),
            DataType::LargeList(item) => {
                DataType::LargeList(std::sync::Arc::new(relax(item, strings)))
            }
            DataType::Utf8 | DataType::LargeUtf8 if strings == Strings::View => DataType::Utf8View,
            other => other.clone(),
        };
        f.clone().with_data_type(dt).with_nullable(true)
    }
    let fields: Vec<Field> = strict.fields().iter().map(|f| relax(f, strings)).collect();
    std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        fields,
        strict.metadata().clone(),
    ))
}
