//! The ground-truth snapshot: one `SnapshotRow` per input domain, written
//! with `authcensus_store::SnapshotWriter` to `truth/part-00000.parquet`.

use std::fs;
use std::path::Path;

use authcensus_store::{SnapshotRow, SnapshotWriter, WriterOptions};

use super::model::{DomainPlan, Existence};
use crate::Error;

/// The columns the truth asserts for every `domain_status = ok` row (minus a
/// planted case's `unasserted` list). For other rows only `domain`,
/// `registrable_domain`, `public_suffix` and `domain_status` are asserted.
/// Every other column holds the generator's best expectation, not a contract.
pub const CONTRACT: &[&str] = &[
    "domain",
    "registrable_domain",
    "public_suffix",
    "domain_status",
    "spf_record",
    "spf_status",
    "spf_all",
    "spf_dns_lookups",
    "spf_void_lookups",
    "dmarc_record",
    "dmarc_status",
    "dmarc_source",
    "dmarc_policy",
    "dmarc_subdomain_policy",
    "dmarc_pct",
    "dmarc_effective_policy",
    "dmarc_rua",
    "mx_exchanges",
    "mx_null",
    "mta_sts_status",
    "mta_sts_mode",
    "mta_sts_mx_mismatch",
    "tlsrpt_status",
    "bimi_status",
    "bimi_logo_url",
];

fn txt_at(d: &DomainPlan, owner: &str, prefix: &str) -> Option<String> {
    d.all_records()
        .iter()
        .find(|r| r.owner == owner && r.rtype == "TXT" && r.rdata.contains(prefix))
        .map(|r| r.rdata.clone())
}

/// The snapshot row the crawl should produce for a domain.
pub fn row(d: &DomainPlan) -> SnapshotRow {
    let t = &d.truth;
    let exists = d.existence == Existence::Normal;
    let has = |owner: &str, rtype: &str| {
        d.all_records()
            .iter()
            .any(|r| r.owner == owner && r.rtype == rtype)
    };
    let status = |owner: &str, rtype: &str| -> String {
        match d.existence {
            Existence::NxDomain => "nxdomain".into(),
            Existence::NeverAnswers => "timeout".into(),
            Existence::Normal if has(owner, rtype) => "answer".into(),
            Existence::Normal => "nodata".into(),
        }
    };
    let tlsrpt_rua = if t.tlsrpt_status == "valid" {
        txt_at(d, &format!("_smtp._tls.{}", d.name), "v=TLSRPTv1")
            .and_then(|s| {
                s.split("rua=")
                    .nth(1)
                    .map(|v| v.trim_end_matches('"').to_string())
            })
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    let bimi_authority_url = if t.bimi_status == "valid" {
        Some(format!("https://{}/brand/vmc.pem", d.name))
    } else {
        None
    };
    SnapshotRow {
        domain: d.name.clone(),
        registrable_domain: Some(d.registrable.clone()),
        public_suffix: Some(d.suffix.clone()),
        input_source: "testbed".into(),
        domain_status: t.domain_status.clone().into(),
        spf_record: t.spf_record.clone(),
        spf_status: t.spf_status.clone().into(),
        spf_all: t.spf_all.clone().map(Into::into),
        spf_dns_lookups: t.spf_dns_lookups,
        spf_void_lookups: t.spf_void_lookups,
        spf_dns_status: status(&d.name, "TXT").into(),
        dmarc_record: t.dmarc_record.clone(),
        dmarc_status: t.dmarc_status.clone().into(),
        dmarc_source: t.dmarc_source.clone().map(Into::into),
        dmarc_found_at: t.dmarc_found_at.clone(),
        dmarc_policy: t.dmarc_policy.clone().map(Into::into),
        dmarc_subdomain_policy: t.dmarc_subdomain_policy.clone().map(Into::into),
        dmarc_pct: t.dmarc_pct,
        dmarc_effective_policy: t.dmarc_effective_policy.clone().map(Into::into),
        dmarc_rua: t.dmarc_rua.clone(),
        dmarc_org_domain_psl: exists.then(|| d.registrable.clone()),
        dmarc_rfc7489_status: t.dmarc_status.clone().into(),
        dmarc_rfc7489_effective_policy: t.dmarc_effective_policy.clone().map(Into::into),
        mx_exchanges: t.mx_exchanges.clone(),
        mx_null: t.mx_null,
        mx_dns_status: status(&d.name, "MX").into(),
        mx_provider: t.mx_provider.clone().map(Into::into),
        mta_sts_status: t.mta_sts_status.clone().into(),
        mta_sts_mode: t.mta_sts_mode.clone().map(Into::into),
        mta_sts_mx_mismatch: t.mta_sts_mx_mismatch,
        mta_sts_id: t.mta_sts_id.clone(),
        mta_sts_fetch_error: t.mta_sts_fetch_error.clone().map(Into::into),
        tlsrpt_status: t.tlsrpt_status.clone().into(),
        tlsrpt_rua,
        bimi_status: t.bimi_status.clone().into(),
        bimi_logo_url: t.bimi_logo_url.clone(),
        bimi_authority_url,
        ..SnapshotRow::default()
    }
}

/// Writes `truth/part-00000.parquet` under `out_dir`.
pub fn write(out_dir: &Path, domains: &[DomainPlan]) -> Result<(), Error> {
    let staging = out_dir.join(".truth-staging");
    let _ = fs::remove_dir_all(&staging);
    let options = WriterOptions {
        rows_per_file: domains.len().max(1) + 1,
        tool_version: "authcensus-testbed".into(),
        ..WriterOptions::default()
    };
    let (mut w, _) = SnapshotWriter::open(&staging, "truth", options)?;
    for d in domains {
        w.push(row(d))?;
    }
    let dir = w.dir().to_path_buf();
    let parts = w.finish(0)?;
    let truth = out_dir.join("truth");
    fs::create_dir_all(&truth).map_err(|e| Error::io(&truth, e))?;
    for p in parts {
        let from = dir.join(&p.file);
        let to = truth.join(&p.file);
        fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
    }
    let _ = fs::remove_dir_all(&staging);
    Ok(())
}
