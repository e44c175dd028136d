//! Reading snapshot files back: the domains of a part (for resume), whole rows
//! (for tests, ground-truth comparison and small reports), and the schema
//! version check that refuses files of another version with a clear message.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::StoreError;
use crate::row::SnapshotRow;
use crate::schema::{self, META_SCHEMA_VERSION, SCHEMA_VERSION};

fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, StoreError> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| StoreError::parquet(path, e))?;
    let version = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == META_SCHEMA_VERSION))
        .and_then(|k| k.value.clone());
    match version {
        Some(v) if v == SCHEMA_VERSION.to_string() => Ok(builder),
        Some(v) => Err(StoreError::format(
            path,
            format!(
                "snapshot schema version {v} is not supported by this authcensus (which reads version {SCHEMA_VERSION})"
            ),
        )),
        None => Err(StoreError::format(
            path,
            format!("not an authcensus snapshot file (no `{META_SCHEMA_VERSION}` metadata)"),
        )),
    }
}

/// The `domain` column of one part file.
///
/// # Errors
/// The file cannot be read or is not a snapshot file of this schema version.
pub fn read_domains(path: &Path) -> Result<Vec<String>, StoreError> {
    let builder = open(path)?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), [schema::DOMAIN]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| StoreError::parquet(path, e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| StoreError::arrow(path, e))?;
        let col = batch
            .column(0)
            .as_string_opt::<i32>()
            .ok_or_else(|| StoreError::format(path, "column `domain` is not a string column"))?;
        out.extend(col.iter().flatten().map(str::to_owned));
    }
    Ok(out)
}

/// Every row of one part file.
///
/// # Errors
/// The file cannot be read, is of another schema version, or its columns do
/// not have the snapshot schema's types.
pub fn read_rows(path: &Path) -> Result<Vec<SnapshotRow>, StoreError> {
    let reader = open(path)?
        .build()
        .map_err(|e| StoreError::parquet(path, e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| StoreError::arrow(path, e))?;
        batch_to_rows(&batch, &mut out).map_err(|m| StoreError::format(path, m))?;
    }
    Ok(out)
}

/// Every row of every part file in a snapshot directory, sorted by domain.
///
/// # Errors
/// As [`read_rows`], for the first failing file.
pub fn read_snapshot_rows(dir: &Path) -> Result<Vec<SnapshotRow>, StoreError> {
    let mut rows = Vec::new();
    for part in crate::layout::part_files(dir)? {
        rows.extend(read_rows(&part)?);
    }
    rows.sort_by(|a, b| a.domain.cmp(&b.domain));
    Ok(rows)
}

struct Batch<'a>(&'a RecordBatch);

impl Batch<'_> {
    fn col(&self, name: &str) -> Result<&dyn Array, String> {
        self.0
            .column_by_name(name)
            .map(|c| c.as_ref())
            .ok_or_else(|| format!("missing column `{name}`"))
    }
    fn strs(&self, name: &str) -> Result<Vec<Option<String>>, String> {
        let c = self.col(name)?;
        let s = c
            .as_string_opt::<i32>()
            .ok_or_else(|| format!("column `{name}` is not Utf8"))?;
        Ok(s.iter().map(|v| v.map(str::to_owned)).collect())
    }
    fn req_strs(&self, name: &str) -> Result<Vec<String>, String> {
        self.strs(name)?
            .into_iter()
            .map(|v| v.ok_or_else(|| format!("null in non-null column `{name}`")))
            .collect()
    }
    fn lists(&self, name: &str) -> Result<Vec<Vec<String>>, String> {
        let c = self.col(name)?;
        let l = c
            .as_list_opt::<i32>()
            .ok_or_else(|| format!("column `{name}` is not a list"))?;
        let mut out = Vec::with_capacity(l.len());
        for i in 0..l.len() {
            let values = l.value(i);
            let s = values
                .as_string_opt::<i32>()
                .ok_or_else(|| format!("column `{name}` items are not Utf8"))?;
            out.push(s.iter().flatten().map(str::to_owned).collect());
        }
        Ok(out)
    }
    fn i32s(&self, name: &str) -> Result<Vec<Option<i32>>, String> {
        let c = self.col(name)?;
        let a = c
            .as_primitive_opt::<Int32Type>()
            .ok_or_else(|| format!("column `{name}` is not Int32"))?;
        Ok(a.iter().collect())
    }
    fn bools(&self, name: &str) -> Result<Vec<Option<bool>>, String> {
        let c = self.col(name)?;
        let a = c
            .as_boolean_opt()
            .ok_or_else(|| format!("column `{name}` is not Boolean"))?;
        Ok(a.iter().collect())
    }
}

fn batch_to_rows(batch: &RecordBatch, out: &mut Vec<SnapshotRow>) -> Result<(), String> {
    use crate::schema::*;
    let b = Batch(batch);
    let n = batch.num_rows();
    let ranks: Vec<Option<i64>> = b
        .col(INPUT_RANK)?
        .as_primitive_opt::<Int64Type>()
        .ok_or("column `input_rank` is not Int64")?
        .iter()
        .collect();
    let crawled: Vec<Option<i64>> = b
        .col(CRAWLED_AT)?
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or("column `crawled_at` is not a microsecond timestamp")?
        .iter()
        .collect();
    let mut domain = b.req_strs(DOMAIN)?.into_iter();
    let mut registrable = b.strs(REGISTRABLE_DOMAIN)?.into_iter();
    let mut suffix = b.strs(PUBLIC_SUFFIX)?.into_iter();
    let mut source = b.req_strs(INPUT_SOURCE)?.into_iter();
    let mut tag = b.strs(INPUT_TAG)?.into_iter();
    let mut status = b.req_strs(DOMAIN_STATUS)?.into_iter();
    let mut spf_record = b.strs(SPF_RECORD)?.into_iter();
    let mut spf_status = b.req_strs(SPF_STATUS)?.into_iter();
    let mut spf_all = b.strs(SPF_ALL)?.into_iter();
    let mut spf_lookups = b.i32s(SPF_DNS_LOOKUPS)?.into_iter();
    let mut spf_void = b.i32s(SPF_VOID_LOOKUPS)?.into_iter();
    let mut spf_errors = b.lists(SPF_ERRORS)?.into_iter();
    let mut spf_dns = b.req_strs(SPF_DNS_STATUS)?.into_iter();
    let mut dmarc_record = b.strs(DMARC_RECORD)?.into_iter();
    let mut dmarc_status = b.req_strs(DMARC_STATUS)?.into_iter();
    let mut dmarc_source = b.strs(DMARC_SOURCE)?.into_iter();
    let mut dmarc_found_at = b.strs(DMARC_FOUND_AT)?.into_iter();
    let mut dmarc_policy = b.strs(DMARC_POLICY)?.into_iter();
    let mut dmarc_sp = b.strs(DMARC_SUBDOMAIN_POLICY)?.into_iter();
    let mut dmarc_np = b.strs(DMARC_NONEXISTENT_POLICY)?.into_iter();
    let mut dmarc_pct = b.i32s(DMARC_PCT)?.into_iter();
    let mut dmarc_eff = b.strs(DMARC_EFFECTIVE_POLICY)?.into_iter();
    let mut dmarc_rua = b.lists(DMARC_RUA)?.into_iter();
    let mut dmarc_ruf = b.lists(DMARC_RUF)?.into_iter();
    let mut dmarc_errors = b.lists(DMARC_ERRORS)?.into_iter();
    let mut dmarc_ext = b.lists(DMARC_EXTERNAL_UNAUTHORIZED)?.into_iter();
    let mut org_tw = b.strs(DMARC_ORG_DOMAIN_TREEWALK)?.into_iter();
    let mut org_psl = b.strs(DMARC_ORG_DOMAIN_PSL)?.into_iter();
    let mut d7489_status = b.req_strs(DMARC_RFC7489_STATUS)?.into_iter();
    let mut d7489_eff = b.strs(DMARC_RFC7489_EFFECTIVE_POLICY)?.into_iter();
    let mut mx = b.lists(MX_EXCHANGES)?.into_iter();
    let mut mx_null = b.bools(MX_NULL)?.into_iter();
    let mut mx_dns = b.req_strs(MX_DNS_STATUS)?.into_iter();
    let mut mx_provider = b.strs(MX_PROVIDER)?.into_iter();
    let mut sts_status = b.req_strs(MTA_STS_STATUS)?.into_iter();
    let mut sts_mode = b.strs(MTA_STS_MODE)?.into_iter();
    let mut sts_mismatch = b.bools(MTA_STS_MX_MISMATCH)?.into_iter();
    let mut sts_id = b.strs(MTA_STS_ID)?.into_iter();
    let mut sts_fetch = b.strs(MTA_STS_FETCH_ERROR)?.into_iter();
    let mut tlsrpt_status = b.req_strs(TLSRPT_STATUS)?.into_iter();
    let mut tlsrpt_rua = b.lists(TLSRPT_RUA)?.into_iter();
    let mut bimi_status = b.req_strs(BIMI_STATUS)?.into_iter();
    let mut bimi_l = b.strs(BIMI_LOGO_URL)?.into_iter();
    let mut bimi_a = b.strs(BIMI_AUTHORITY_URL)?.into_iter();
    let mut ns = b.lists(NS_HOSTS)?.into_iter();
    let mut dns_provider = b.strs(DNS_PROVIDER)?.into_iter();
    let mut truncated = b.bools(RECORDS_TRUNCATED)?.into_iter();
    let mut queries = b.i32s(DNS_QUERIES)?.into_iter();
    for i in 0..n {
        let short = || format!("column shorter than the batch at row {i}");
        out.push(SnapshotRow {
            domain: domain.next().ok_or_else(short)?,
            registrable_domain: registrable.next().flatten(),
            public_suffix: suffix.next().flatten(),
            input_source: source.next().ok_or_else(short)?,
            input_tag: tag.next().flatten(),
            input_rank: ranks.get(i).copied().flatten(),
            crawled_at_us: crawled.get(i).copied().flatten().unwrap_or(0),
            domain_status: status.next().ok_or_else(short)?.into(),
            spf_record: spf_record.next().flatten(),
            spf_status: spf_status.next().ok_or_else(short)?.into(),
            spf_all: spf_all.next().flatten().map(Into::into),
            spf_dns_lookups: spf_lookups.next().flatten(),
            spf_void_lookups: spf_void.next().flatten(),
            spf_errors: spf_errors.next().unwrap_or_default(),
            spf_dns_status: spf_dns.next().ok_or_else(short)?.into(),
            dmarc_record: dmarc_record.next().flatten(),
            dmarc_status: dmarc_status.next().ok_or_else(short)?.into(),
            dmarc_source: dmarc_source.next().flatten().map(Into::into),
            dmarc_found_at: dmarc_found_at.next().flatten(),
            dmarc_policy: dmarc_policy.next().flatten().map(Into::into),
            dmarc_subdomain_policy: dmarc_sp.next().flatten().map(Into::into),
            dmarc_nonexistent_policy: dmarc_np.next().flatten().map(Into::into),
            dmarc_pct: dmarc_pct.next().flatten(),
            dmarc_effective_policy: dmarc_eff.next().flatten().map(Into::into),
            dmarc_rua: dmarc_rua.next().unwrap_or_default(),
            dmarc_ruf: dmarc_ruf.next().unwrap_or_default(),
            dmarc_errors: dmarc_errors.next().unwrap_or_default(),
            dmarc_external_unauthorized: dmarc_ext.next().unwrap_or_default(),
            dmarc_org_domain_treewalk: org_tw.next().flatten(),
            dmarc_org_domain_psl: org_psl.next().flatten(),
            dmarc_rfc7489_status: d7489_status.next().ok_or_else(short)?.into(),
            dmarc_rfc7489_effective_policy: d7489_eff.next().flatten().map(Into::into),
            mx_exchanges: mx.next().unwrap_or_default(),
            mx_null: mx_null.next().flatten().unwrap_or(false),
            mx_dns_status: mx_dns.next().ok_or_else(short)?.into(),
            mx_provider: mx_provider.next().flatten().map(Into::into),
            mta_sts_status: sts_status.next().ok_or_else(short)?.into(),
            mta_sts_mode: sts_mode.next().flatten().map(Into::into),
            mta_sts_mx_mismatch: sts_mismatch.next().flatten(),
            mta_sts_id: sts_id.next().flatten(),
            mta_sts_fetch_error: sts_fetch.next().flatten().map(Into::into),
            tlsrpt_status: tlsrpt_status.next().ok_or_else(short)?.into(),
            tlsrpt_rua: tlsrpt_rua.next().unwrap_or_default(),
            bimi_status: bimi_status.next().ok_or_else(short)?.into(),
            bimi_logo_url: bimi_l.next().flatten(),
            bimi_authority_url: bimi_a.next().flatten(),
            ns_hosts: ns.next().unwrap_or_default(),
            dns_provider: dns_provider.next().flatten().map(Into::into),
            records_truncated: truncated.next().flatten().unwrap_or(false),
            dns_queries: queries.next().flatten().unwrap_or(0),
        });
    }
    Ok(())
}
