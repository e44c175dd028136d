//! One snapshot row as a plain Rust struct, and its conversion to Arrow.
//!
//! The crawl fills a [`SnapshotRow`] per domain; the writer turns buffered rows
//! into a `RecordBatch` of [`crate::schema::snapshot_schema`]. Field order and
//! meaning follow the schema module, which documents every column.

use std::borrow::Borrow;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field};

use crate::schema::snapshot_schema;

/// A value of a column whose values come from a fixed list (statuses,
/// policies, provider ids): the crawl borrows the list's `&'static str`
/// instead of allocating a copy per row (about twenty per row, each freed
/// again on the writer's thread); rows read back from Parquet own theirs.
pub type Label = std::borrow::Cow<'static, str>;

/// One domain's survey result: the columns of the snapshot schema.
#[allow(missing_docs)] // every field is documented by its column constant in `schema`
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SnapshotRow {
    pub domain: String,
    pub registrable_domain: Option<String>,
    pub public_suffix: Option<String>,
    pub input_source: String,
    pub input_tag: Option<String>,
    pub input_rank: Option<i64>,
    /// Microseconds since the Unix epoch, UTC.
    pub crawled_at_us: i64,
    pub domain_status: Label,
    pub spf_record: Option<String>,
    pub spf_status: Label,
    pub spf_all: Option<Label>,
    pub spf_dns_lookups: Option<i32>,
    pub spf_void_lookups: Option<i32>,
    pub spf_errors: Vec<String>,
    pub spf_dns_status: Label,
    pub dmarc_record: Option<String>,
    pub dmarc_status: Label,
    pub dmarc_source: Option<Label>,
    pub dmarc_found_at: Option<String>,
    pub dmarc_policy: Option<Label>,
    pub dmarc_subdomain_policy: Option<Label>,
    pub dmarc_nonexistent_policy: Option<Label>,
    pub dmarc_pct: Option<i32>,
    pub dmarc_effective_policy: Option<Label>,
    pub dmarc_rua: Vec<String>,
    pub dmarc_ruf: Vec<String>,
    pub dmarc_errors: Vec<String>,
    pub dmarc_external_unauthorized: Vec<String>,
    pub dmarc_org_domain_treewalk: Option<String>,
    pub dmarc_org_domain_psl: Option<String>,
    pub dmarc_rfc7489_status: Label,
    pub dmarc_rfc7489_effective_policy: Option<Label>,
    pub mx_exchanges: Vec<String>,
    pub mx_null: bool,
    pub mx_dns_status: Label,
    pub mx_provider: Option<Label>,
    pub mta_sts_status: Label,
    pub mta_sts_mode: Option<Label>,
    pub mta_sts_mx_mismatch: Option<bool>,
    pub mta_sts_id: Option<String>,
    pub mta_sts_fetch_error: Option<Label>,
    pub tlsrpt_status: Label,
    pub tlsrpt_rua: Vec<String>,
    pub bimi_status: Label,
    pub bimi_logo_url: Option<String>,
    pub bimi_authority_url: Option<String>,
    pub ns_hosts: Vec<String>,
    pub dns_provider: Option<Label>,
    pub records_truncated: bool,
    pub dns_queries: i32,
}

fn list_builder(capacity: usize) -> ListBuilder<StringBuilder> {
    ListBuilder::with_capacity(StringBuilder::new(), capacity).with_field(Arc::new(Field::new(
        "item",
        DataType::Utf8,
        false,
    )))
}

/// Builds columns of one type from a slice of rows or of references to rows.
struct Cols<'a, R>(&'a [R]);

impl<R: Borrow<SnapshotRow>> Cols<'_, R> {
    fn str(&self, f: impl Fn(&SnapshotRow) -> &str) -> ArrayRef {
        let mut b = StringBuilder::with_capacity(self.0.len(), self.0.len() * 8);
        for r in self.0 {
            b.append_value(f(r.borrow()));
        }
        Arc::new(b.finish())
    }
    fn opt_str(&self, f: impl Fn(&SnapshotRow) -> Option<&str>) -> ArrayRef {
        let mut b = StringBuilder::with_capacity(self.0.len(), self.0.len() * 8);
        for r in self.0 {
            b.append_option(f(r.borrow()));
        }
        Arc::new(b.finish())
    }
    fn list(&self, f: impl Fn(&SnapshotRow) -> &[String]) -> ArrayRef {
        let mut b = list_builder(self.0.len());
        for r in self.0 {
            for v in f(r.borrow()) {
                b.values().append_value(v);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    }
    fn opt_i32(&self, f: impl Fn(&SnapshotRow) -> Option<i32>) -> ArrayRef {
        let mut b = Int32Builder::with_capacity(self.0.len());
        for r in self.0 {
            b.append_option(f(r.borrow()));
        }
        Arc::new(b.finish())
    }
    fn opt_bool(&self, f: impl Fn(&SnapshotRow) -> Option<bool>) -> ArrayRef {
        let mut b = BooleanBuilder::with_capacity(self.0.len());
        for r in self.0 {
            b.append_option(f(r.borrow()));
        }
        Arc::new(b.finish())
    }
}

/// Converts rows to a record batch of the snapshot schema, in the given order.
/// Takes rows or references to rows, so a caller can reorder ~1.2 KB rows by
/// sorting 8-byte references instead of moving the rows themselves.
///
/// # Errors
/// Only if the columns disagree with the schema, which the pinned-schema and
/// round-trip tests rule out.
pub fn rows_to_batch<R: Borrow<SnapshotRow>>(rows: &[R]) -> Result<RecordBatch, ArrowError> {
    let c = Cols(rows);
    let mut rank = Int64Builder::with_capacity(rows.len());
    let mut crawled = TimestampMicrosecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
    for r in rows {
        let r = r.borrow();
        rank.append_option(r.input_rank);
        crawled.append_value(r.crawled_at_us);
    }
    let columns: Vec<ArrayRef> = vec![
        c.str(|r| &r.domain),
        c.opt_str(|r| r.registrable_domain.as_deref()),
        c.opt_str(|r| r.public_suffix.as_deref()),
        c.str(|r| &r.input_source),
        c.opt_str(|r| r.input_tag.as_deref()),
        Arc::new(rank.finish()),
        Arc::new(crawled.finish()),
        c.str(|r| &r.domain_status),
        c.opt_str(|r| r.spf_record.as_deref()),
        c.str(|r| &r.spf_status),
        c.opt_str(|r| r.spf_all.as_deref()),
        c.opt_i32(|r| r.spf_dns_lookups),
        c.opt_i32(|r| r.spf_void_lookups),
        c.list(|r| &r.spf_errors),
        c.str(|r| &r.spf_dns_status),
        c.opt_str(|r| r.dmarc_record.as_deref()),
        c.str(|r| &r.dmarc_status),
        c.opt_str(|r| r.dmarc_source.as_deref()),
        c.opt_str(|r| r.dmarc_found_at.as_deref()),
        c.opt_str(|r| r.dmarc_policy.as_deref()),
        c.opt_str(|r| r.dmarc_subdomain_policy.as_deref()),
        c.opt_str(|r| r.dmarc_nonexistent_policy.as_deref()),
        c.opt_i32(|r| r.dmarc_pct),
        c.opt_str(|r| r.dmarc_effective_policy.as_deref()),
        c.list(|r| &r.dmarc_rua),
        c.list(|r| &r.dmarc_ruf),
        c.list(|r| &r.dmarc_errors),
        c.list(|r| &r.dmarc_external_unauthorized),
        c.opt_str(|r| r.dmarc_org_domain_treewalk.as_deref()),
        c.opt_str(|r| r.dmarc_org_domain_psl.as_deref()),
        c.str(|r| &r.dmarc_rfc7489_status),
        c.opt_str(|r| r.dmarc_rfc7489_effective_policy.as_deref()),
        c.list(|r| &r.mx_exchanges),
        c.opt_bool(|r| Some(r.mx_null)),
        c.str(|r| &r.mx_dns_status),
        c.opt_str(|r| r.mx_provider.as_deref()),
        c.str(|r| &r.mta_sts_status),
        c.opt_str(|r| r.mta_sts_mode.as_deref()),
        c.opt_bool(|r| r.mta_sts_mx_mismatch),
        c.opt_str(|r| r.mta_sts_id.as_deref()),
        c.opt_str(|r| r.mta_sts_fetch_error.as_deref()),
        c.str(|r| &r.tlsrpt_status),
        c.list(|r| &r.tlsrpt_rua),
        c.str(|r| &r.bimi_status),
        c.opt_str(|r| r.bimi_logo_url.as_deref()),
        c.opt_str(|r| r.bimi_authority_url.as_deref()),
        c.list(|r| &r.ns_hosts),
        c.opt_str(|r| r.dns_provider.as_deref()),
        c.opt_bool(|r| Some(r.records_truncated)),
        c.opt_i32(|r| Some(r.dns_queries)),
    ];
    RecordBatch::try_new(snapshot_schema(), columns)
}
