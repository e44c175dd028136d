//! The snapshot schema: one row per input domain. This file is the only place
//! the columns are defined.
//!
//! The columns are a contract: tests, reports and users' queries (DuckDB,
//! Spark, pandas) rely on their names, types and values. Changing one means
//! changing [`SCHEMA_VERSION`], the pinned-schema test below and the changelog
//! in `crates/authcensus-store/README.md`, on purpose.
//!
//! Null semantics: null means "not looked up" or "not applicable" (e.g.
//! `dmarc_policy` without a valid record); an empty list means "looked up,
//! nothing there" (e.g. `mx_exchanges` of a domain with no MX).
//!
//! Strings of low cardinality (statuses, policies, qualifiers) are plain Arrow
//! `Utf8`; the Parquet writer dictionary-encodes them on disk, and readers see
//! them as `VARCHAR` without a dictionary type to handle.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Version of the snapshot schema, written into every Parquet file's key-value
/// metadata under [`META_SCHEMA_VERSION`] and into the manifest.
pub const SCHEMA_VERSION: u32 = 1;

/// Parquet key-value metadata key holding [`SCHEMA_VERSION`].
pub const META_SCHEMA_VERSION: &str = "authcensus.schema_version";
/// Parquet key-value metadata key holding the snapshot id.
pub const META_SNAPSHOT_ID: &str = "authcensus.snapshot_id";
/// Parquet key-value metadata key holding the tool version that wrote the file.
pub const META_TOOL_VERSION: &str = "authcensus.tool_version";

// --- identity and input -------------------------------------------------
/// Normalised A-label, lowercase, no trailing dot.
pub const DOMAIN: &str = "domain";
/// PSL eTLD+1; null if the name is itself a public suffix.
pub const REGISTRABLE_DOMAIN: &str = "registrable_domain";
/// PSL public suffix.
pub const PUBLIC_SUFFIX: &str = "public_suffix";
/// Source name of the input the domain came from (first one when several).
pub const INPUT_SOURCE: &str = "input_source";
/// Per-input label given with `--tag` or a list manifest; null without one.
pub const INPUT_TAG: &str = "input_tag";
/// Rank in a ranked list (Tranco, Majestic); null for unranked inputs.
pub const INPUT_RANK: &str = "input_rank";
/// When the domain's lookups finished (UTC, microseconds).
pub const CRAWLED_AT: &str = "crawled_at";
/// `ok`, `nxdomain`, `error` (the domain's own lookups failed after retries).
pub const DOMAIN_STATUS: &str = "domain_status";

// --- SPF ------------------------------------------------------------------
/// The SPF record text, strings joined without separator; first one if several.
pub const SPF_RECORD: &str = "spf_record";
/// `none`, `valid`, `permerror`, `temperror`.
pub const SPF_STATUS: &str = "spf_status";
/// `-all`, `~all`, `?all`, `+all` of the effective all term (after redirect=); null when none.
pub const SPF_ALL: &str = "spf_all";
/// RFC 7208 §4.6.4 lookup-term count over the whole include/redirect tree.
pub const SPF_DNS_LOOKUPS: &str = "spf_dns_lookups";
/// How many of those lookups returned NXDOMAIN or no answer.
pub const SPF_VOID_LOOKUPS: &str = "spf_void_lookups";
/// Finding codes (multiple_records, syntax, too_many_lookups, ...).
pub const SPF_ERRORS: &str = "spf_errors";
/// Outcome of the TXT query at the domain (`answer`, `nodata`, `nxdomain`, `servfail`, `timeout`, ...).
pub const SPF_DNS_STATUS: &str = "spf_dns_status";

// --- DMARC ----------------------------------------------------------------
/// The DMARC record that applies.
pub const DMARC_RECORD: &str = "dmarc_record";
/// `none`, `valid`, `invalid` (incl. multiple records), `temperror`.
pub const DMARC_STATUS: &str = "dmarc_status";
/// `domain` if found at `_dmarc.<domain>`, `organizational` if found above it; null if none.
pub const DMARC_SOURCE: &str = "dmarc_source";
/// The name whose `_dmarc` record applies (null if none).
pub const DMARC_FOUND_AT: &str = "dmarc_found_at";
/// p= of that record, lowercase.
pub const DMARC_POLICY: &str = "dmarc_policy";
/// sp= (null when absent).
pub const DMARC_SUBDOMAIN_POLICY: &str = "dmarc_subdomain_policy";
/// np= (null when absent).
pub const DMARC_NONEXISTENT_POLICY: &str = "dmarc_nonexistent_policy";
/// pct= (100 when absent).
pub const DMARC_PCT: &str = "dmarc_pct";
/// The policy that applies to this domain's mail (p at the domain, else sp/np falling back to p).
pub const DMARC_EFFECTIVE_POLICY: &str = "dmarc_effective_policy";
/// Aggregate-report URIs.
pub const DMARC_RUA: &str = "dmarc_rua";
/// Failure-report URIs.
pub const DMARC_RUF: &str = "dmarc_ruf";
/// Finding codes of the DMARC record and discovery.
pub const DMARC_ERRORS: &str = "dmarc_errors";
/// rua/ruf URIs in another organizational domain whose destination does not
/// authorise the reports (no `v=DMARC1` TXT at `<policy domain>._report._dmarc.<host>`,
/// RFC 7489 §7.1, or an override to another host); empty when all are authorised
/// or none is external.
pub const DMARC_EXTERNAL_UNAUTHORIZED: &str = "dmarc_external_unauthorized";
/// Organizational domain by the RFC 9989 DNS tree walk (null when not determined).
pub const DMARC_ORG_DOMAIN_TREEWALK: &str = "dmarc_org_domain_treewalk";
/// Organizational domain by the RFC 7489 PSL method.
pub const DMARC_ORG_DOMAIN_PSL: &str = "dmarc_org_domain_psl";
/// `dmarc_status` under RFC 7489 semantics (PSL fallback, strict tag order) for historical comparison.
pub const DMARC_RFC7489_STATUS: &str = "dmarc_rfc7489_status";
/// Effective policy under RFC 7489 semantics.
pub const DMARC_RFC7489_EFFECTIVE_POLICY: &str = "dmarc_rfc7489_effective_policy";

// --- MX -------------------------------------------------------------------
/// Exchange names by preference then name, lowercase, no trailing dot; empty when none.
pub const MX_EXCHANGES: &str = "mx_exchanges";
/// RFC 7505 null MX.
pub const MX_NULL: &str = "mx_null";
/// Outcome of the MX query.
pub const MX_DNS_STATUS: &str = "mx_dns_status";
/// Mailbox provider of the most-preferred exchange (table-driven id), null if unknown.
pub const MX_PROVIDER: &str = "mx_provider";

// --- MTA-STS --------------------------------------------------------------
/// `none`, `valid`, or a failure code (`invalid_txt`, `policy_fetch_failed`, `invalid_policy`, ...).
pub const MTA_STS_STATUS: &str = "mta_sts_status";
/// `enforce`, `testing`, `none` from a valid policy; null otherwise.
pub const MTA_STS_MODE: &str = "mta_sts_mode";
/// Some actual MX host matches none of the policy's mx patterns; null without a valid policy.
pub const MTA_STS_MX_MISMATCH: &str = "mta_sts_mx_mismatch";
/// id= of the `_mta-sts` TXT record.
pub const MTA_STS_ID: &str = "mta_sts_id";
/// Detail of a policy fetch failure (`http_status`, `redirect`, `content_type`, ...); null otherwise.
pub const MTA_STS_FETCH_ERROR: &str = "mta_sts_fetch_error";

// --- TLS-RPT and BIMI -----------------------------------------------------
/// `none`, `valid`, `invalid`.
pub const TLSRPT_STATUS: &str = "tlsrpt_status";
/// rua= URIs of a valid TLS-RPT record.
pub const TLSRPT_RUA: &str = "tlsrpt_rua";
/// `none`, `valid`, `declined` (empty l= and a=), `invalid`.
pub const BIMI_STATUS: &str = "bimi_status";
/// l= of a valid record.
pub const BIMI_LOGO_URL: &str = "bimi_logo_url";
/// a= of a valid record.
pub const BIMI_AUTHORITY_URL: &str = "bimi_authority_url";

// --- DNS hosting ----------------------------------------------------------
/// NS host names of the registrable domain, sorted.
pub const NS_HOSTS: &str = "ns_hosts";
/// DNS hosting provider identified from `ns_hosts` (table-driven id), null if unknown.
pub const DNS_PROVIDER: &str = "dns_provider";

// --- bookkeeping ----------------------------------------------------------
/// True when some stored record text was truncated (hostile sizes) or escaped.
pub const RECORDS_TRUNCATED: &str = "records_truncated";
/// DNS queries sent for this domain (all protocols, including SPF tree lookups not served from cache).
pub const DNS_QUERIES: &str = "dns_queries";

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn utf8_list(name: &str) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
        false,
    )
}

/// The Arrow schema of a snapshot file, built once.
pub static SNAPSHOT_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8(DOMAIN, false),
        utf8(REGISTRABLE_DOMAIN, true),
        utf8(PUBLIC_SUFFIX, true),
        utf8(INPUT_SOURCE, false),
        utf8(INPUT_TAG, true),
        Field::new(INPUT_RANK, DataType::Int64, true),
        Field::new(
            CRAWLED_AT,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        utf8(DOMAIN_STATUS, false),
        utf8(SPF_RECORD, true),
        utf8(SPF_STATUS, false),
        utf8(SPF_ALL, true),
        Field::new(SPF_DNS_LOOKUPS, DataType::Int32, true),
        Field::new(SPF_VOID_LOOKUPS, DataType::Int32, true),
        utf8_list(SPF_ERRORS),
        utf8(SPF_DNS_STATUS, false),
        utf8(DMARC_RECORD, true),
        utf8(DMARC_STATUS, false),
        utf8(DMARC_SOURCE, true),
        utf8(DMARC_FOUND_AT, true),
        utf8(DMARC_POLICY, true),
        utf8(DMARC_SUBDOMAIN_POLICY, true),
        utf8(DMARC_NONEXISTENT_POLICY, true),
        Field::new(DMARC_PCT, DataType::Int32, true),
        utf8(DMARC_EFFECTIVE_POLICY, true),
        utf8_list(DMARC_RUA),
        utf8_list(DMARC_RUF),
        utf8_list(DMARC_ERRORS),
        utf8_list(DMARC_EXTERNAL_UNAUTHORIZED),
        utf8(DMARC_ORG_DOMAIN_TREEWALK, true),
        utf8(DMARC_ORG_DOMAIN_PSL, true),
        utf8(DMARC_RFC7489_STATUS, false),
        utf8(DMARC_RFC7489_EFFECTIVE_POLICY, true),
        utf8_list(MX_EXCHANGES),
        Field::new(MX_NULL, DataType::Boolean, false),
        utf8(MX_DNS_STATUS, false),
        utf8(MX_PROVIDER, true),
        utf8(MTA_STS_STATUS, false),
        utf8(MTA_STS_MODE, true),
        Field::new(MTA_STS_MX_MISMATCH, DataType::Boolean, true),
        utf8(MTA_STS_ID, true),
        utf8(MTA_STS_FETCH_ERROR, true),
        utf8(TLSRPT_STATUS, false),
        utf8_list(TLSRPT_RUA),
        utf8(BIMI_STATUS, false),
        utf8(BIMI_LOGO_URL, true),
        utf8(BIMI_AUTHORITY_URL, true),
        utf8_list(NS_HOSTS),
        utf8(DNS_PROVIDER, true),
        Field::new(RECORDS_TRUNCATED, DataType::Boolean, false),
        Field::new(DNS_QUERIES, DataType::Int32, false),
    ]))
});

/// The snapshot schema (a cheap clone of the shared [`SchemaRef`]).
pub fn snapshot_schema() -> SchemaRef {
    SNAPSHOT_SCHEMA.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema written out a second time, by hand. A change to a column
    /// must be made here, in `SCHEMA_VERSION` and in the changelog, on purpose.
    #[test]
    fn pinned_schema() {
        let expected: &[(&str, &str, bool)] = &[
            ("domain", "Utf8", false),
            ("registrable_domain", "Utf8", true),
            ("public_suffix", "Utf8", true),
            ("input_source", "Utf8", false),
            ("input_tag", "Utf8", true),
            ("input_rank", "Int64", true),
            ("crawled_at", "Timestamp(µs, \"UTC\")", false),
            ("domain_status", "Utf8", false),
            ("spf_record", "Utf8", true),
            ("spf_status", "Utf8", false),
            ("spf_all", "Utf8", true),
            ("spf_dns_lookups", "Int32", true),
            ("spf_void_lookups", "Int32", true),
            ("spf_errors", "List(Utf8)", false),
            ("spf_dns_status", "Utf8", false),
            ("dmarc_record", "Utf8", true),
            ("dmarc_status", "Utf8", false),
            ("dmarc_source", "Utf8", true),
            ("dmarc_found_at", "Utf8", true),
            ("dmarc_policy", "Utf8", true),
            ("dmarc_subdomain_policy", "Utf8", true),
            ("dmarc_nonexistent_policy", "Utf8", true),
            ("dmarc_pct", "Int32", true),
            ("dmarc_effective_policy", "Utf8", true),
            ("dmarc_rua", "List(Utf8)", false),
            ("dmarc_ruf", "List(Utf8)", false),
            ("dmarc_errors", "List(Utf8)", false),
            ("dmarc_external_unauthorized", "List(Utf8)", false),
            ("dmarc_org_domain_treewalk", "Utf8", true),
            ("dmarc_org_domain_psl", "Utf8", true),
            ("dmarc_rfc7489_status", "Utf8", false),
            ("dmarc_rfc7489_effective_policy", "Utf8", true),
            ("mx_exchanges", "List(Utf8)", false),
            ("mx_null", "Boolean", false),
            ("mx_dns_status", "Utf8", false),
            ("mx_provider", "Utf8", true),
            ("mta_sts_status", "Utf8", false),
            ("mta_sts_mode", "Utf8", true),
            ("mta_sts_mx_mismatch", "Boolean", true),
            ("mta_sts_id", "Utf8", true),
            ("mta_sts_fetch_error", "Utf8", true),
            ("tlsrpt_status", "Utf8", false),
            ("tlsrpt_rua", "List(Utf8)", false),
            ("bimi_status", "Utf8", false),
            ("bimi_logo_url", "Utf8", true),
            ("bimi_authority_url", "Utf8", true),
            ("ns_hosts", "List(Utf8)", false),
            ("dns_provider", "Utf8", true),
            ("records_truncated", "Boolean", false),
            ("dns_queries", "Int32", false),
        ];
        let schema = snapshot_schema();
        let actual: Vec<(String, String, bool)> = schema
            .fields()
            .iter()
            .map(|f| {
                let ty = match f.data_type() {
                    DataType::List(item) => {
                        assert!(!item.is_nullable(), "{} items must not be null", f.name());
                        format!("List({})", item.data_type())
                    }
                    other => other.to_string(),
                };
                (f.name().clone(), ty, f.is_nullable())
            })
            .collect();
        let expected: Vec<(String, String, bool)> = expected
            .iter()
            .map(|(n, t, b)| (n.to_string(), t.to_string(), *b))
            .collect();
        assert_eq!(actual, expected);
        assert_eq!(SCHEMA_VERSION, 1);
    }
}
