//! The streaming snapshot writer.
//!
//! Rows are buffered up to `rows_per_file`, sorted by domain, and written as one
//! Parquet file `part-NNNNN.parquet` (zstd; dictionary encoding and
//! statistics where they serve, see [`writer_properties`]; row groups of
//! `row_group_rows`). A file is written under a hidden
//! temporary name (`.part-NNNNN.parquet.tmp`, which `*.parquet` globs do not
//! match), synced, then renamed: the rename is the commit point for resume, so
//! a reader or a resumed crawl never sees a half-written file.
//!
//! Memory is bounded by `rows_per_file` rows plus one row group being encoded,
//! whatever the length of the input. Rows are sorted within each file (diffs
//! and range scans rely on it); files are not globally ordered.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::StoreError;
use crate::layout::{self, PART_PREFIX};
use crate::row::{SnapshotRow, rows_to_batch};
use crate::schema::{
    self, META_SCHEMA_VERSION, META_SNAPSHOT_ID, META_TOOL_VERSION, SCHEMA_VERSION,
};

/// Called with the path and summary of each part file right after it is
/// closed (renamed into place), in the writer's thread; an error stops the
/// writer like a failed write. The object-storage output uploads the part
/// here ([`crate::remote::RemoteStore::part_uploader`]).
#[derive(Clone)]
pub struct PartHook(pub Arc<PartHookFn>);

/// The function inside a [`PartHook`].
pub type PartHookFn = dyn Fn(&Path, &PartInfo) -> Result<(), StoreError> + Send + Sync;

impl std::fmt::Debug for PartHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartHook")
    }
}

/// Writer settings; the defaults suit a crawl of millions of domains.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WriterOptions {
    /// Rows per part file (and the size of the in-memory sort buffer). Default 100,000.
    pub rows_per_file: usize,
    /// Rows per Parquet row group. Default 50,000.
    pub row_group_rows: usize,
    /// zstd level. Default 1: level 3 made the files 0.7 % smaller for 8 %
    /// more instructions in the part's encoding (`benches/write.rs`,
    /// 2026-12-07).
    pub zstd_level: i32,
    /// Tool version written into each file's metadata.
    pub tool_version: String,
    /// The shard index K of a sharded crawl: the writer then writes
    /// `<out>/snapshot=<ID>/shard=<K>/`. Default `None` (unsharded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<u64>,
    /// Runs after each closed part (e.g. an upload). Default `None`.
    #[serde(skip)]
    pub after_part: Option<PartHook>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            rows_per_file: 100_000,
            row_group_rows: 50_000,
            zstd_level: 1,
            tool_version: String::from("unknown"),
            shard: None,
            after_part: None,
        }
    }
}

/// Columns written without a dictionary: (nearly) one value per row, where a
/// dictionary page ends as large as the values and costs a hash and a table
/// insert per value on the writer thread. Plain values plus zstd were 16 %
/// smaller and the part's encoding 10 % cheaper in instructions
/// (`benches/write.rs`, 2026-12-07). Every other column is
/// dictionary-encoded: statuses, policies, providers, and records shared by
/// many domains (SPF includes, MX and NS hosts).
pub const PLAIN_COLUMNS: &[&str] = &[
    schema::DOMAIN,
    schema::REGISTRABLE_DOMAIN,
    schema::INPUT_RANK,
    schema::CRAWLED_AT,
    schema::DMARC_FOUND_AT,
    schema::DMARC_ORG_DOMAIN_TREEWALK,
    schema::DMARC_ORG_DOMAIN_PSL,
    schema::MTA_STS_ID,
    schema::BIMI_LOGO_URL,
    schema::BIMI_AUTHORITY_URL,
];

/// Columns with min/max statistics per column chunk: those by which a reader
/// can skip row groups (the domain, sorted within each part; the input's
/// identity; counts and flags). The others (statuses, policies, record
/// texts, lists) hold nearly every value in every 50,000-row group, so their
/// min/max would let no query skip anything, and computing them took about
/// a fifth of the part's encoding (`benches/write.rs`, 2026-12-07).
pub const STATISTICS_COLUMNS: &[&str] = &[
    schema::DOMAIN,
    schema::REGISTRABLE_DOMAIN,
    schema::PUBLIC_SUFFIX,
    schema::INPUT_SOURCE,
    schema::INPUT_TAG,
    schema::INPUT_RANK,
    schema::CRAWLED_AT,
    schema::SPF_DNS_LOOKUPS,
    schema::SPF_VOID_LOOKUPS,
    schema::DMARC_PCT,
    schema::MX_NULL,
    schema::MTA_STS_MX_MISMATCH,
    schema::RECORDS_TRUNCATED,
    schema::DNS_QUERIES,
];

/// The Parquet settings of every part file: zstd at `options.zstd_level`,
/// dictionary encoding except for [`PLAIN_COLUMNS`], chunk statistics for
/// [`STATISTICS_COLUMNS`], row groups of `options.row_group_rows`, and the
/// schema version, snapshot id and tool version in the file metadata. Public
/// for the encoding benchmark (`benches/write.rs`).
pub fn writer_properties(options: &WriterOptions, snapshot_id: &str) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(options.zstd_level).unwrap_or_default(),
        ))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(META_SCHEMA_VERSION.to_string(), SCHEMA_VERSION.to_string()),
            KeyValue::new(META_SNAPSHOT_ID.to_string(), snapshot_id.to_string()),
            KeyValue::new(META_TOOL_VERSION.to_string(), options.tool_version.clone()),
        ]));
    for c in PLAIN_COLUMNS {
        b = b.set_column_dictionary_enabled(ColumnPath::from(*c), false);
    }
    for c in STATISTICS_COLUMNS {
        b = b.set_column_statistics_enabled(ColumnPath::from(*c), EnabledStatistics::Chunk);
    }
    b.build()
}

/// The rows in domain order, as references: sorting the ~1.2 KB rows
/// themselves moved each row ~log2(n) times (a 10,000-row part moved ~300
/// MB, 3.4 % of a crawl's CPU in `perf`). Each reference is keyed by the
/// first eight bytes of its domain (big-endian, zero-padded, so keys order
/// as the bytes do), and most comparisons are one integer compare instead of
/// two pointer chases into the rows and a `memcmp`; equal keys compare the
/// whole names. The order is exactly `a.domain.cmp(&b.domain)`.
pub fn by_domain(rows: &[SnapshotRow]) -> Vec<&SnapshotRow> {
    let key = |d: &str| {
        let mut k = [0u8; 8];
        let b = d.as_bytes();
        let n = b.len().min(8);
        k[..n].copy_from_slice(&b[..n]);
        u64::from_be_bytes(k)
    };
    let mut keyed: Vec<(u64, &SnapshotRow)> = rows.iter().map(|r| (key(&r.domain), r)).collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.domain.cmp(&b.1.domain)));
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// Encodes `rows`, in this order, as one Parquet file into `sink` with
/// `props`, `row_group_rows` rows per row group, and returns the sink; errors
/// name `path`. The part files and the encoding benchmark
/// (`benches/write.rs`) both go through here.
///
/// # Errors
/// Converting the rows or encoding them failed.
pub fn encode_rows<W: std::io::Write + Send>(
    sink: W,
    path: &Path,
    rows: &[&SnapshotRow],
    row_group_rows: usize,
    props: WriterProperties,
) -> Result<W, StoreError> {
    let mut writer = ArrowWriter::try_new(sink, crate::schema::snapshot_schema(), Some(props))
        .map_err(|e| StoreError::parquet(path, e))?;
    for chunk in rows.chunks(row_group_rows.max(1)) {
        let batch = rows_to_batch(chunk).map_err(|e| StoreError::arrow(path, e))?;
        writer
            .write(&batch)
            .map_err(|e| StoreError::parquet(path, e))?;
    }
    writer
        .into_inner()
        .map_err(|e| StoreError::parquet(path, e))
}

/// What a snapshot directory already holds when a writer opens it.
#[derive(Debug, Default)]
pub struct ResumeState {
    /// Domains present in closed part files: skip them.
    pub done: HashSet<String>,
    /// Closed part files found.
    pub parts: Vec<PathBuf>,
    /// Temporary files of an interrupted run that were removed.
    pub removed_temporaries: Vec<PathBuf>,
}

/// Summary of one closed part file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartInfo {
    /// File name inside the snapshot directory.
    pub file: String,
    /// Rows in the file.
    pub rows: u64,
    /// Bytes on disk.
    pub bytes: u64,
}

/// A streaming writer of one snapshot directory.
#[derive(Debug)]
pub struct SnapshotWriter {
    dir: PathBuf,
    snapshot_id: String,
    options: WriterOptions,
    props: WriterProperties,
    buffer: Vec<SnapshotRow>,
    next_part: u32,
    written: Vec<PartInfo>,
}

impl SnapshotWriter {
    /// Opens (creating if needed) `<out>/snapshot=<id>/` (or its
    /// `shard=<K>/` when `options.shard` is set), removes temporary
    /// files of an interrupted run and reads the domains of closed part files
    /// so the caller can skip them.
    ///
    /// # Errors
    /// A directory that cannot be created or read, or a closed part file that
    /// cannot be read (never silently trusted or ignored).
    pub fn open(
        out: &Path,
        snapshot_id: &str,
        options: WriterOptions,
    ) -> Result<(Self, ResumeState), StoreError> {
        let dir = layout::run_dir(out, snapshot_id, options.shard);
        fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let mut state = ResumeState::default();
        let mut next_part = 0;
        for entry in layout::list_dir(&dir)? {
            let name = entry.file_name().map(|n| n.to_string_lossy().into_owned());
            let Some(name) = name else { continue };
            if layout::is_temporary(&name) {
                fs::remove_file(&entry).map_err(|e| StoreError::io(&entry, e))?;
                state.removed_temporaries.push(entry);
            } else if let Some(n) = layout::part_number(&name) {
                next_part = next_part.max(n + 1);
                for domain in crate::reader::read_domains(&entry)? {
                    state.done.insert(domain);
                }
                state.parts.push(entry);
            }
        }
        state.parts.sort();
        let props = writer_properties(&options, snapshot_id);
        let writer = SnapshotWriter {
            dir,
            snapshot_id: snapshot_id.to_string(),
            buffer: Vec::with_capacity(options.rows_per_file.min(1 << 16)),
            options,
            props,
            next_part,
            written: Vec::new(),
        };
        Ok((writer, state))
    }

    /// The snapshot directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The snapshot id.
    pub fn snapshot_id(&self) -> &str {
        &self.snapshot_id
    }

    /// Rows buffered and not yet in a closed file.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Part files closed by this writer so far.
    pub fn written(&self) -> &[PartInfo] {
        &self.written
    }

    /// Adds a row; closes a part file when the buffer is full.
    ///
    /// # Errors
    /// Writing the part file failed (the error names the path).
    pub fn push(&mut self, row: SnapshotRow) -> Result<(), StoreError> {
        self.buffer.push(row);
        if self.buffer.len() >= self.options.rows_per_file.max(1) {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered rows (if any) as one closed part file.
    ///
    /// # Errors
    /// Writing, syncing or renaming the file failed; the temporary file is
    /// removed and no closed file is left behind.
    pub fn flush(&mut self) -> Result<Option<PartInfo>, StoreError> {
        if self.buffer.is_empty() {
            return Ok(None);
        }
        // The buffer is lent out and handed back cleared, keeping its
        // capacity: a fresh vector per part grew by doubling to ~12 MB
        // (10,000 rows of ~1.2 KB) and touched new pages every time, which
        // was most of a crawl's page faults.
        let mut rows = std::mem::take(&mut self.buffer);
        let result = self.write_part(&rows).map(Some);
        rows.clear();
        self.buffer = rows;
        result
    }

    /// Writes a part file with exactly these rows, even when empty (a
    /// snapshot with zero rows is still a valid snapshot with one file).
    fn write_part(&mut self, rows: &[SnapshotRow]) -> Result<PartInfo, StoreError> {
        let sorted = by_domain(rows);
        let name = format!("{PART_PREFIX}{:05}.parquet", self.next_part);
        let final_path = self.dir.join(&name);
        let tmp_path = self.dir.join(format!(".{name}.tmp"));
        let result = self.write_file(&tmp_path, &sorted);
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp_path);
            return Err(e);
        }
        fs::rename(&tmp_path, &final_path).map_err(|e| {
            let _ = fs::remove_file(&tmp_path);
            StoreError::io(&final_path, e)
        })?;
        layout::sync_dir(&self.dir);
        let bytes = fs::metadata(&final_path)
            .map_err(|e| StoreError::io(&final_path, e))?
            .len();
        self.next_part += 1;
        let info = PartInfo {
            file: name,
            rows: rows.len() as u64,
            bytes,
        };
        if let Some(hook) = &self.options.after_part {
            (hook.0)(&final_path, &info)?;
        }
        self.written.push(info.clone());
        Ok(info)
    }

    fn write_file(&self, path: &Path, rows: &[&SnapshotRow]) -> Result<(), StoreError> {
        let file = fs::File::create(path).map_err(|e| StoreError::io(path, e))?;
        let file = encode_rows(
            file,
            path,
            rows,
            self.options.row_group_rows,
            self.props.clone(),
        )?;
        file.sync_all().map_err(|e| StoreError::io(path, e))?;
        Ok(())
    }

    /// Flushes the buffer and returns every part written by this writer. When
    /// the snapshot directory has no part file at all (zero input domains), an
    /// empty part is written so readers find a file with the schema.
    ///
    /// # Errors
    /// As [`SnapshotWriter::flush`].
    pub fn finish(mut self, existing_parts: usize) -> Result<Vec<PartInfo>, StoreError> {
        self.flush()?;
        if self.written.is_empty() && existing_parts == 0 {
            self.write_part(&[])?;
        }
        Ok(self.written)
    }
}
